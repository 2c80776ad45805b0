"""LeJEPA: SIGReg against Gaussian / collapsed / line samples, pretraining a tiny encoder on a real
run's block-masked shards (loss falls, no collapse, resume is exact), linear probes, and the stage
A/B transition (A leaves the encoder untouched; B moves it much less than the adapter)."""

from __future__ import annotations


import pytest
import torch

from docfactory.engine.catalog import open_catalog
from docfactory.train import get_model
from docfactory.train.lejepa import make_config, pretrain, sigreg
from docfactory.train.lejepa.probe import compare
from docfactory.train.lejepa.sigreg import directions, knots
from docfactory.train.lejepa.train import build_model, load_trained
from docfactory.train.lejepa.transition import template_transition

pytestmark = pytest.mark.usefixtures("one_thread")



CFG = make_config("tiny", split="all", steps=30, log_every=5, save_every=10)


@pytest.fixture(scope="module")
def pretrained(emitted, tmp_path_factory):
    out = tmp_path_factory.mktemp("lejepa")
    return out, pretrain(emitted, out, CFG)


def test_knots_are_17_on_0_to_3_with_trapezoid_times_gaussian_weights():
    t, phi, w = knots()
    assert len(t) == 17 and t[0] == 0 and t[-1] == 3
    dt = 3 / 16
    assert torch.allclose(w[1:-1], 2 * dt * phi[1:-1]) and torch.allclose(w[[0, -1]], dt * phi[[0, -1]])


def test_sigreg_is_small_for_gaussian_and_large_for_collapsed_or_line_samples():
    g = torch.Generator().manual_seed(0)
    n, dim = 512, 32
    gaussian = torch.randn(n, dim, generator=g)
    collapsed = torch.full((n, dim), 0.3) + 1e-3 * torch.randn(n, dim, generator=g)
    v = torch.randn(dim, generator=g)
    line = (torch.rand(n, 1, generator=g) * 2 - 1) * 3 * v / v.norm()  # uniform on a line through 0
    small = sigreg(gaussian, seed=1)
    assert small < 2.0  # N · E|ecf − φ|² = 1 − φ² under the null: O(1) whatever N
    assert sigreg(collapsed, seed=1) > 50 * small
    assert sigreg(line, seed=1) > 50 * small
    # It grows with N for a bad batch and not for a Gaussian one.
    assert sigreg(line[:128], seed=1) < sigreg(line, seed=1) / 2
    assert sigreg(torch.randn(128, dim, generator=g), seed=1) < 2.0


def test_sigreg_directions_come_from_the_step_seed_alone():
    a, b, c = directions(16, 8, seed=5), directions(16, 8, seed=5), directions(16, 8, seed=6)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.allclose(a.norm(dim=0), torch.ones(8))
    z = torch.randn(64, 16)
    assert sigreg(z, seed=3) == sigreg(z, seed=3)


def test_pretraining_lowers_the_loss_without_collapse(pretrained):
    out, result = pretrained
    first, last = result.history[0], result.history[-1]
    assert result.steps == CFG.steps and last["step"] == CFG.steps
    assert last["loss"] < 0.9 * first["loss"]
    assert last["std"] > 0.5 * first["std"] and not result.warnings  # the spread holds: no collapse
    assert (out / "encoder" / "config.json").exists() and (out / "run.yaml").exists()
    assert (out / "scalars.csv").read_text().count("\n") >= len(result.history)


def test_resume_continues_exactly_where_a_stopped_run_left_off(emitted, pretrained, tmp_path):
    cfg = CFG.model_copy(update={"steps": 6, "save_every": 3})
    straight = pretrain(emitted, tmp_path / "straight", cfg)
    stopped = pretrain(emitted, tmp_path / "stopped", cfg, stop_after=3)  # as if killed after step 3's checkpoint
    assert stopped.steps == 3 and not (tmp_path / "stopped" / "encoder").exists()
    resumed = pretrain(emitted, tmp_path / "stopped", cfg)
    assert resumed.resumed_from == 3 and resumed.steps == 6 == straight.steps
    a, b = load_trained(tmp_path / "straight").state_dict(), load_trained(tmp_path / "stopped").state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)
    with pytest.raises(ValueError, match="other settings"):
        pretrain(emitted, tmp_path / "stopped", cfg.model_copy(update={"lambd": 0.5}))


def test_linear_probes_report_pretrained_and_random_init(emitted, pretrained):
    out, _ = pretrained
    report = compare(load_trained(out), build_model(CFG), emitted)
    assert set(report) == {"template", "table_block"}
    for row in report.values():
        assert 0 <= row["pretrained"] <= 1 and 0 <= row["random_init"] <= 1 and row["n_eval"] > 0
        lo, hi = row["pretrained_ci95"]
        assert lo <= row["pretrained"] <= hi
    # the probe reads the features, not the label frequencies: with the train labels shuffled it
    # falls well below the real probe (a broken probe or constant features would not)
    template = report["template"]
    assert template["pretrained"] >= template["shuffled"] + 0.2, template


def test_stage_a_freezes_the_encoder_and_stage_b_moves_it_much_less_than_the_adapter(emitted, pretrained):
    out, _ = pretrained
    model = load_trained(out)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    _, (a, b) = template_transition(model, emitted, steps_a=4, steps_b=4, batch_size=8)
    assert a.encoder_change == 0.0 and a.adapter_change > 0
    assert b.encoder_change > 0 and b.encoder_change < b.adapter_change / 3
    changed = max((model.encoder.state_dict()[k] - v).abs().max().item() for k, v in before.items())
    assert 0 < changed < 1e-3


def test_registry_entry_trains_and_refuses_to_predict(emitted, tmp_path):
    entry = get_model("lejepa")
    encoder = entry.trainer(scale="tiny", steps=2, split="all").train(emitted, tmp_path / "lj")
    assert (encoder / "config.json").exists()
    with pytest.raises(ValueError, match="no page predictions"):
        entry.predictor()
    with pytest.raises(KeyError, match="known: tiny, small, full"):
        make_config("huge")
    with open_catalog(emitted, read_only=True) as catalog:
        assert catalog.sql("SELECT count(*) FROM pretrain").fetchone()[0] > CFG.batch_size
