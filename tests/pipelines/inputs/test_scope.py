"""Which inputs a run lists: each once, never its own output; and which inputs are empty."""

import pytest

from pipelines.inputs import scope as input_scope, sources
from pipelines.runtime import lock
from tests.helpers.images import photo, write_image


def specs_apart(inputs, output):
    return input_scope.apart_from_output([sources.resolve(str(i)) for i in inputs], str(output))


def ids(spec) -> list[str]:
    return [f.image_id for f in sources.list_files(spec).files]


def test_an_output_inside_an_input_and_earlier_outputs_are_left_out_of_its_listing(tmp_path):
    write_image(tmp_path / "in" / "a.png", photo("camera", (8, 8)))
    write_image(tmp_path / "in" / "out" / "restored" / "a.png", photo("camera", (8, 8)))
    write_image(tmp_path / "in" / "old" / "restored" / "a.png", photo("camera", (8, 8)))
    (tmp_path / "in" / "old" / lock.LOCK_FILE).write_text("")
    write_image(tmp_path / "in" / "kept" / "b.png", photo("moon", (8, 8)))
    [spec], notes = specs_apart([tmp_path / "in"], tmp_path / "in" / "out")
    assert notes == [f"--output {tmp_path / 'in' / 'out'} lies inside --input {tmp_path / 'in'}: it is left out of "
                     f"the listing"]
    assert ids(spec) == ["a.png", "kept/b.png"]
    assert sorted(sources.list_files(spec).left_out) == [str(tmp_path / "in" / "old"), str(tmp_path / "in" / "out")]
    [glob], _ = specs_apart([f"{tmp_path / 'in'}/**.png"], tmp_path / "in" / "out")
    assert ids(glob) == ["a.png", "kept/b.png"]


def test_an_input_that_is_the_output_or_inside_it_is_refused(tmp_path):
    write_image(tmp_path / "in" / "a.png", photo("camera", (8, 8)))
    for inputs, output in (([tmp_path / "in"], tmp_path / "in"), ([tmp_path / "in"], tmp_path),
                           ([tmp_path / "in" / "a.png"], tmp_path / "in"), ([f"{tmp_path}/in/*.png"], tmp_path)):
        with pytest.raises(sources.InputError, match="is inside --output"):
            specs_apart(inputs, output)


def test_an_input_given_twice_is_listed_once(tmp_path):
    write_image(tmp_path / "in" / "a.png", photo("camera", (8, 8)))
    specs, notes = specs_apart([tmp_path / "in", f"{tmp_path / 'in'}/", tmp_path / "in" / ".." / "in"], tmp_path / "o")
    assert [s.given for s in specs] == [str(tmp_path / "in")] and len(notes) == 2


def test_only_an_existing_input_can_hold_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    write_image(tmp_path / "full" / "a.png", photo("camera", (8, 8)))
    assert input_scope.holds_nothing(sources.resolve(str(tmp_path / "empty")))
    assert input_scope.holds_nothing(sources.resolve(f"{tmp_path / 'full'}/*.tif")), "a glob matching nothing tonight"
    assert not input_scope.holds_nothing(sources.resolve(str(tmp_path / "full")))
    assert not input_scope.holds_nothing(sources.resolve(str(tmp_path / "typo"))), "a mistake the job reports"
