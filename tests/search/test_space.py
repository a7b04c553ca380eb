import numpy as np
import pytest
import torch

from muxnet import build_model
from muxnet.search.space import GENES, SearchSpace, genome_key, parse_genome_key


@pytest.mark.parametrize("preset", ["small", "imagenet224"])
def test_every_sampled_genome_decodes_to_a_valid_spec(preset):
    space = SearchSpace(preset)
    rng = np.random.default_rng(0)
    for _ in range(400):  # NetworkSpec validation checks every width, group and multiplexed part
        spec = space.decode(space.sample(rng))
        assert spec.input_size == space.preset.input_size


@pytest.mark.parametrize("preset", ["small", "imagenet224"])
def test_sampled_and_extreme_genomes_build_and_run_on_meta(preset):
    space = SearchSpace(preset)
    rng = np.random.default_rng(1)
    genomes = [space.sample(rng) for _ in range(12)] + list(space.extreme_genomes())
    for genome in genomes:
        with torch.device("meta"):
            model = build_model(space.decode(genome))
            out = model(torch.zeros(2, *space.preset.input_size))
        assert out.shape == (2, space.preset.num_classes)


def test_space_matches_supplement_table_1():
    space = SearchSpace()
    assert space.n_genes == 30  # 5 normal + 2 reduction genes per stage, S in stages 2 and 3
    assert sum(g.name == "normal.scales" for g in GENES) == 2
    assert 11 < space.size_in_14ths() < 12.5  # "approximately 14^12"
    assert space.size == (2 * 2 * 3 * 4 * 3 * 3 * 2) ** 2 * (2 * 2 * 3 * 4 * 3 * 5 * 3 * 2) ** 2


def test_decode_follows_the_genome():
    space = SearchSpace("imagenet224")
    genome = [0] * space.n_genes
    labels = [g.label for g in GENES]
    genome[labels.index("stage2.normal.repeat")] = 3
    genome[labels.index("stage2.normal.scales")] = 4
    genome[labels.index("stage2.normal.leave_out")] = 2
    genome[labels.index("stage3.reduction.kernel_size")] = 2
    spec = space.decode(genome)
    stage2 = spec.stages[2]
    assert stage2[1].type == "mux" and stage2[1].repeat == 3
    assert stage2[1].scales == (-1, 0, 0, 1) and stage2[1].leave_out == 0.5
    assert spec.stages[3][0].kernel_size == (3, 5, 7, 9) and spec.stages[3][0].stride == 2
    assert [len(s) for s in spec.stages] == [1, 1, 2, 2, 2]  # N=0 elsewhere: only reduction + transitions
    assert spec.stages[1][0].activation == "relu" and spec.stages[4][0].activation == "swish"
    assert spec.metadata["genome"] == genome_key(genome)


def test_variation_stays_in_bounds_and_mutation_changes_genes():
    space = SearchSpace()
    rng = np.random.default_rng(2)
    a, b = space.sample(rng), space.sample(rng)
    for _ in range(200):
        child = space.mutate(space.crossover(a, b, rng), rng)
        assert space.check(child) == child
        one = space.mutate_one(a, rng)
        assert sum(x != y for x, y in zip(one, a)) == 1
    cross = space.crossover(a, b, rng)
    assert all(c in (x, y) for c, x, y in zip(cross, a, b))


def test_neighbours_are_every_one_gene_change_of_the_free_genes():
    space = SearchSpace()
    genome = space.sample(np.random.default_rng(5))
    near = space.neighbours(genome)
    assert len(near) == len(set(near)) == sum(len(g.options) - 1 for g in GENES)  # the full space: every gene free
    assert all(sum(x != y for x, y in zip(n, genome)) == 1 and space.check(n) == n for n in near)
    sub = SearchSpace.covering([[0] * len(GENES), [1, 0, 2] + [0] * (len(GENES) - 3)])  # genes 0 and 2 free
    assert sorted(sub.neighbours([0] * len(GENES))) == sorted(
        [tuple([1] + [0] * (len(GENES) - 1)), tuple([0, 0, 1] + [0] * (len(GENES) - 3)),
         tuple([0, 0, 2] + [0] * (len(GENES) - 3))])


def test_genome_key_round_trip_and_bad_genomes():
    space = SearchSpace()
    genome = space.sample(np.random.default_rng(3))
    assert parse_genome_key(genome_key(genome)) == genome
    with pytest.raises(ValueError, match="expected 30 genes"):
        space.check(genome[:-1])
    bad = list(genome)
    bad[3] = 9
    with pytest.raises(ValueError, match=r"stage1.normal.repeat: option index 9"):
        space.decode(bad)
