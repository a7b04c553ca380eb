from muxnet.cli import main
from muxnet.profiling import family_table


def test_cli_profile_prints_a_table(capsys):
    assert main(["profile", "muxnet_m", "mixnet_m", "mobilenetv3_large_100"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line and line.split()[0] in
             ("muxnet_m", "mixnet_m", "mobilenetv3_large_100")}
    assert lines["muxnet_m"][1:5] == ["3.354M", "1.00x", "216.8M", "1.00x"]
    assert lines["mixnet_m"][1] == "5.014M" and lines["mobilenetv3_large_100"][3] == "216.6M"


def test_cli_profile_errors_are_one_line(capsys):
    assert main(["profile", "not_a_model"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown model 'not_a_model'" in err


def test_family_list_names_every_family():
    listing = family_table("list")
    assert "mobilenetv2_spatialmux  (5 models)" in listing.splitlines()
