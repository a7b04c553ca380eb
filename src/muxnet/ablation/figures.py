"""The papers' ablation figures as data: which members each line holds and which claims the figure tests.

A :class:`Figure` is what ``muxnet ablate NAME`` trains: lines (one per variant, e.g. depthwise vs spatial
multiplexing), each a list of :class:`Member` records (a zoo model of :mod:`muxnet.models.ablations`, or the same
model at another input resolution), and the :class:`Claim` records its verdicts are computed from. Three figures
are the papers' ablations; every zoo family (``muxnet profile --family list``) is also a figure of one line and no
claims, so any family can be trained the same way.

* ``fig8a`` (MUXConv Fig. 8a): MobileNetV2 with depthwise vs spatially multiplexed normal blocks, widths 0.1-1.0.
* ``fig8b`` (MUXConv Fig. 8b): channel multiplexing (leave-out ``l`` 0, 0.25, 0.5) against the two usual ways of
  making MobileNetV2 cheaper: the width multiplier (1.0, 0.75, 0.5) and the input resolution (the paper's 224,
  192 and 160, scaled to the data's size: 32, 28 and 24 at 32x32).
* ``mixnet_kernels`` (MixNet Fig. 4/6 on MobileNetV2): one vanilla ``k x k`` depthwise kernel vs MixConv
  ``{3..k}`` with equal and with exponential channel partition, ``k`` = 3..9.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models.ablations import FAMILIES, FIG8A_WIDTHS, FIG8B_LEAVE_OUTS

# the MobileNetV2 paper's lower resolutions, as fractions of 224 (Fig. 8b's resolution line)
RESOLUTION_FRACTIONS = (1.0, 192 / 224, 160 / 224)
FIG8B_WIDTHS = (1.0, 0.75, 0.5)
KERNEL_SWEEP = (3, 5, 7, 9)
# a difference smaller than this many top-1 points is what "costs little" / "similar accuracy" means here
SIMILAR_POINTS = 1.0


@dataclass(frozen=True)
class Member:
    """One point of a figure: a zoo model (``model``), trained at ``resolution`` x the data's image size.

    ``name`` is unique within the figure (``mobilenetv2_baseline_100_r28`` for a resolution point), ``label`` is
    what the plot and the table call the point within its line (``w=0.25``, ``k=3..7``).
    """

    name: str
    model: str
    label: str
    resolution: float = 1.0

    def image_size(self, base: int) -> int:
        """The input size at ``base`` (the recipe's): the fraction rounded to a multiple of 4, so 224 gives the
        paper's 192 and 160 exactly and 32 gives 28 and 24."""
        return base if self.resolution == 1.0 else max(8, 4 * round(base * self.resolution / 4))


@dataclass(frozen=True)
class Line:
    """One variant of a figure: its members in the order the plot connects them."""

    name: str
    members: tuple[Member, ...]


@dataclass(frozen=True)
class Claim:
    """A claim of a paper, tested as a difference of mean top-1 between members (``a`` minus ``b``).

    ``kind`` says what the difference must show for the claim to hold: ``"better"`` (``a`` more accurate than
    ``b``: the interval lies above 0), ``"similar"`` (within :data:`SIMILAR_POINTS`: the interval lies inside
    +-1 point), ``"not_worse"`` (a loss of more than 1 point is excluded), ``"peak"`` (the line ``a`` names peaks
    inside its range, above its last member ``b``), ``"larger_gain"`` (the gain of ``a[0]`` over ``b[0]`` exceeds
    that of ``a[1]`` over ``b[1]``: a difference of differences). ``text`` reads before the numbers.
    """

    text: str
    kind: str
    a: str | tuple[str, ...]
    b: str | tuple[str, ...]
    paper: str = ""


@dataclass(frozen=True)
class Figure:
    name: str
    description: str
    lines: tuple[Line, ...]
    claims: tuple[Claim, ...] = ()
    x_label: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def members(self) -> list[Member]:
        """Every member once, in line order (a member shared by two lines, e.g. the MixConv ``{3}`` point that
        is the vanilla ``k3``, appears once)."""
        seen: dict[str, Member] = {}
        for line in self.lines:
            for member in line.members:
                seen.setdefault(member.name, member)
        return list(seen.values())

    def member(self, name: str) -> Member:
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError(f"figure {self.name}: no member {name!r}")


def _suffix(value: float) -> str:
    return f"{int(round(value * 100)):03d}"


def _kernels(k: int, mixed: bool) -> str:
    return f"k{k}" if not mixed or k == 3 else f"k3to{k}"


def _fig8a() -> Figure:
    def line(name: str, family: str) -> Line:
        return Line(name, tuple(Member(f"{family}_{_suffix(w)}", f"{family}_{_suffix(w)}", f"w={w:g}")
                                for w in FIG8A_WIDTHS))

    claims = tuple(Claim(f"spatial multiplexing vs depthwise at width {w:g}", "better",
                         f"mobilenetv2_spatialmux_{_suffix(w)}", f"mobilenetv2_baseline_{_suffix(w)}",
                         "spatial multiplexing improves accuracy at the same MAdds (up to +5.8% at low MAdds)")
                   for w in FIG8A_WIDTHS)
    smallest, largest = _suffix(FIG8A_WIDTHS[0]), _suffix(FIG8A_WIDTHS[-1])
    claims += (Claim(f"the gain at width {FIG8A_WIDTHS[0]:g} vs the gain at width {FIG8A_WIDTHS[-1]:g}", "larger_gain",
                     (f"mobilenetv2_spatialmux_{smallest}", f"mobilenetv2_spatialmux_{largest}"),
                     (f"mobilenetv2_baseline_{smallest}", f"mobilenetv2_baseline_{largest}"),
                     "the gain is larger in small models"),)
    return Figure("fig8a", "MUXConv Fig. 8a: spatial multiplexing in MobileNetV2 at widths 0.1-1.0",
                  (line("depthwise", "mobilenetv2_baseline"), line("spatial multiplexing", "mobilenetv2_spatialmux")),
                  claims, "width multiplier w")


def _fig8b() -> Figure:
    full = "mobilenetv2_baseline_100"
    leave = Line("leave-out l", tuple(Member(f"mobilenetv2_channelmux_l{_suffix(lo)}",
                                             f"mobilenetv2_channelmux_l{_suffix(lo)}", f"l={lo:g}")
                                      for lo in FIG8B_LEAVE_OUTS))
    width = Line("width w", tuple(Member(f"mobilenetv2_baseline_{_suffix(w)}", f"mobilenetv2_baseline_{_suffix(w)}",
                                         f"w={w:g}") for w in FIG8B_WIDTHS))
    resolution = Line("resolution r", tuple(
        Member(full if f == 1.0 else f"{full}_r{round(224 * f)}", full, f"r={round(224 * f)}/224", f)
        for f in RESOLUTION_FRACTIONS))
    claims = (
        Claim("leaving out 25% of the channels vs none", "not_worse", "mobilenetv2_channelmux_l025",
              "mobilenetv2_channelmux_l000", "l = 0.25 costs little accuracy (saving 13% params, 20% MAdds)"),
        Claim("reducing the resolution (192/224) vs leaving out 25%", "better", f"{full}_r192",
              "mobilenetv2_channelmux_l025", "reducing resolution is the better MAdds trade-off"),
        Claim("leaving out 25% vs the width multiplier 0.75", "better", "mobilenetv2_channelmux_l025",
              "mobilenetv2_baseline_075", "channel multiplexing is competitive with the width multiplier"),
    )
    return Figure("fig8b", "MUXConv Fig. 8b: channel multiplexing vs width multiplier vs resolution in MobileNetV2",
                  (leave, width, resolution), claims, "leave-out l, width w, resolution r",
                  ("the l=0, w=1.0 and r=224/224 points are one network, trained once per seed",))


def _mixnet_kernels() -> Figure:
    def line(name: str, family: str, mixed: bool) -> Line:
        members = []
        for k in KERNEL_SWEEP:
            # every line starts at the one 3x3 network (MixConv {3} is a vanilla 3x3), named after its zoo model
            zoo = "mobilenetv2_vanilla_k3" if k == 3 else f"{family}_{_kernels(k, mixed)}"
            members.append(Member(zoo, zoo, f"k={k}" if not mixed else f"k=3..{k}" if k > 3 else "k=3"))
        return Line(name, tuple(members))

    top = KERNEL_SWEEP[-1]
    claims = (
        Claim("vanilla kernels: the best size vs the largest", "peak", "vanilla", f"mobilenetv2_vanilla_k{top}",
              "accuracy peaks at a moderate single kernel size"),
        Claim(f"MixConv {{3..{top}}} vs {{3}}", "better", f"mobilenetv2_mixconv_k3to{top}", "mobilenetv2_vanilla_k3",
              "mixed kernels keep improving as the largest kernel grows"),
        Claim(f"MixConv {{3..{top}}} vs a vanilla {top}x{top}", "better", f"mobilenetv2_mixconv_k3to{top}",
              f"mobilenetv2_vanilla_k{top}", "mixed kernels beat one large kernel"),
        Claim(f"exponential vs equal partition at {{3..{top}}}", "similar", f"mobilenetv2_mixconv_exp_k3to{top}",
              f"mobilenetv2_mixconv_k3to{top}", "the exponential partition is cheaper at similar accuracy"),
    )
    return Figure("mixnet_kernels", "MixNet Fig. 4/6 on MobileNetV2: vanilla vs MixConv (equal, exponential) kernels "
                  f"3..{top}", (line("vanilla", "mobilenetv2_vanilla", False),
                                line("MixConv", "mobilenetv2_mixconv", True),
                                line("MixConv exponential", "mobilenetv2_mixconv_exp", True)),
                  claims, "largest kernel k",
                  ("k=3 is one network on every line, and so is MixConv k=3..5 under either partition (two groups "
                   "halve an even width): each is trained once per seed",))


FIGURES: dict[str, Figure] = {f.name: f for f in (_fig8a(), _fig8b(), _mixnet_kernels())}


def family_figure(family: str) -> Figure:
    """A zoo family (``muxnet profile --family``) as a figure of one line and no claims."""
    members = tuple(Member(name, name, name.removeprefix(f"{family}_")) for name in FAMILIES[family])
    return Figure(family, f"the {family} family", (Line(family, members),), x_label="member")


def figure_names() -> list[str]:
    """What ``muxnet ablate`` accepts: the figures, then every zoo family."""
    return [*FIGURES, *sorted(FAMILIES)]


def get_figure(name: str) -> Figure:
    if name in FIGURES:
        return FIGURES[name]
    if name in FAMILIES:
        return family_figure(name)
    raise KeyError(f"unknown family {name!r}; figures: {', '.join(FIGURES)}; families: "
                   f"{', '.join(sorted(FAMILIES))} (muxnet ablate list)")


__all__ = ["FIGURES", "KERNEL_SWEEP", "RESOLUTION_FRACTIONS", "SIMILAR_POINTS", "Claim", "Figure", "Line", "Member",
           "family_figure", "figure_names", "get_figure"]
