"""The loop's held-out layout family (profile `holdout_choices`): training, in_dist and audit documents
never draw the held-out options, whatever a plan tilts; the holdout set always does; a profile that
names a choice or option no template has, or holds out all of a template's options, is refused.
(The tiny loop's own sets are checked in test_loop.py.)"""

from __future__ import annotations

import json

import pytest
import yaml

from docfactory.engine.loop import LoopRequest, load_profile
from docfactory.engine.loop.holdout import HoldoutFamily
from docfactory.engine.loop.profile import PROFILES_DIR
from docfactory.engine.loop.run import LoopError, Reporter, _Loop
from docfactory.generators import sample_spec

HELD = {"rule": "equals", "total_label": "GRAND TOTAL"}  # the tiny and default profiles' family


def _held(choices: dict) -> list[str]:
    return [name for name, option in HELD.items() if choices.get(name) == option]


@pytest.fixture()
def loop(tmp_path) -> _Loop:
    profile = load_profile("tiny")
    assert {name: [option] for name, option in HELD.items()} == profile.holdout_choices
    return _Loop(tmp_path / "run", profile, LoopRequest(iterations=2, profile="tiny"), Reporter())


def test_training_never_draws_the_held_out_options_even_when_a_plan_tilts_them(loop, registry, tmp_path):
    assert loop.family.templates == ("receipt_pos",) and "receipt_pos" in loop.train_templates
    templates = [registry.get(t) for t in loop.train_templates]
    plans = tmp_path / "run" / "plans"
    plans.mkdir(parents=True)
    tilted = {"choice": {"total_label": {"GRAND TOTAL": 50.0, "JUMLAH": 3.0}, "rule": {"equals": 9.0}}, "locale": {"en_MY": 3.0}}
    (plans / "it001.json").write_text(json.dumps({"weights": tilted, "variants": []}))
    for k in (0, 1):
        weights = loop.plan_weights(k)
        specs = [sample_spec(3, i, templates, prefix="doc", weights=weights) for i in range(300)]
        pos = [s for s in specs if s.template == "receipt_pos"]
        assert len(pos) > 20 and not any(_held(s.choices) for s in pos)
    assert loop.plan_weights(1)["choice"]["total_label"] == {"GRAND TOTAL": 0.0, "JUMLAH": 3.0}  # the rest of the plan stays
    assert loop.plan_weights(1)["locale"] == {"en_MY": 3.0}


def test_the_holdout_set_always_draws_them(loop, registry):
    held = sorted(set(loop.profile.holdout_templates) | set(loop.family.templates))
    assert held == ["receipt_pos", "receipt_thermal"]
    specs = [sample_spec(3, i, [registry.get(t) for t in held], prefix="holdout", weights=loop.family.forced())
             for i in range(60)]
    pos = [s for s in specs if s.template == "receipt_pos"]
    assert pos and all(_held(s.choices) == list(HELD) for s in pos)
    assert {s.template for s in specs} == set(held)  # the hand-written held-out template too


def test_a_bad_family_is_refused(registry, tmp_path):
    trained = [registry.get(t) for t in registry.names() if t != "receipt_thermal"]
    for bad, message in (({"rulez": ["equals"]}, "no template has the choice 'rulez'"),
                         ({"rule": ["double"]}, r"holdout_choices.rule: \['double'\] \(options: blank, css, dash, equals\)"),
                         ({"paper": [80, 58]}, "every option of template receipt_pos")):
        with pytest.raises(ValueError, match=message):
            HoldoutFamily.of(bad, trained)
    # a choice only a held-out template has holds nothing more out
    assert not HoldoutFamily.of({"rule": ["equals"]}, [registry.get("invoice_classic")], [registry.get("receipt_pos")])
    data = yaml.safe_load((PROFILES_DIR / "tiny.yaml").read_text())
    data["holdout_choices"] = {"total_label": ["TOTALE"]}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(LoopError, match="TOTALE"):
        _Loop(tmp_path / "run", load_profile(str(path)), LoopRequest(iterations=1, profile=str(path)), Reporter())
