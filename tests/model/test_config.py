from pathlib import Path

import pytest
import yaml

from model.config import Config, DataConfig, load_config, write_resolved_config
from restoreflow.configs import ConfigError, to_plain


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_training_configs_load(path):
    config = load_config(str(path))
    assert config.train.steps > 0 and config.data.batch_size > 0


@pytest.mark.parametrize("override, key", [
    ("train.stpes=5", "train.stpes"),
    ("optimizer.learning_rat=0.1", "optimizer.learning_rat"),
    ("train.strategy=mirored", "train.strategy"),
    ("data.batch_size=0", "data.batch_size"),
])
def test_typos_and_bad_values_are_errors_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(None, [override], base={"data": {"shards": "s"}})


def test_a_workdir_refuses_other_settings_but_not_more_steps(tmp_path):
    config = load_config(None, base={"data": {"shards": "s"}, "train": {"steps": 10}})
    write_resolved_config(config, str(tmp_path))
    write_resolved_config(load_config(None, ["train.steps=20"], base=to_plain(config)), str(tmp_path))
    with pytest.raises(ConfigError, match=r"differs at: optimizer\.learning_rate"):
        write_resolved_config(load_config(None, ["optimizer.learning_rate=0.1"], base=to_plain(config)), str(tmp_path))


def test_a_key_an_older_version_lacked_may_appear_at_its_default(tmp_path):
    write_resolved_config(Config(data=DataConfig(shards="s")), str(tmp_path))
    written = tmp_path / "config.yaml"
    older = yaml.safe_load(written.read_text())
    del older["model"]["init_from"]  # as written before model.init_from existed
    written.write_text(yaml.safe_dump(older))
    write_resolved_config(Config(data=DataConfig(shards="s")), str(tmp_path))
