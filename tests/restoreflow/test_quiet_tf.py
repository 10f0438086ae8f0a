import os
import sys

import pytest

from restoreflow import quiet_tf

# What TensorFlow 2.21 printed on fd 2 here (2 CPU cores, no GPU) at import and first device query.
STARTUP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796041816.579010    9043 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results due to floating-point round-off errors from different computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796041816.579365    9043 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
I0000 00:00:1796041816.811135    9043 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
E0000 00:00:1796041823.138632    9043 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
"""
KEPT = [
    "E1130 12:30:01.000000   77 saved_model_loader.cc:12] something that really failed\n",
    "W1130 12:30:01.000000   77 op_kernel.cc:1840] OP_REQUIRES failed\n",
    "Traceback (most recent call last):\n",
    "UserWarning: a Python warning\n",
]


def test_only_the_startup_lines_count_as_noise():
    assert all(quiet_tf.is_startup_noise(line) for line in STARTUP.splitlines())
    assert not any(quiet_tf.is_startup_noise(line) for line in KEPT)


def test_captured_lines_other_than_the_startup_ones_come_back(capfd):
    with quiet_tf.startup_lines_dropped():
        os.write(2, (STARTUP + "".join(KEPT)).encode())
    assert capfd.readouterr().err == "".join(KEPT)


def test_lines_come_back_when_the_block_raises(capfd):
    with pytest.raises(RuntimeError), quiet_tf.startup_lines_dropped():
        os.write(2, b"I0000 00:00:1.5    9 port.cc:1] noise\nreal trouble\n")
        raise RuntimeError("import failed")
    assert capfd.readouterr().err == "real trouble\n"


@pytest.mark.parametrize("verbose", [False, True])
def test_the_first_tensorflow_import_is_quiet_unless_verbose_by_then(monkeypatch, verbose):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)  # as in a fresh process
    monkeypatch.delenv(quiet_tf.VERBOSE_ENV, raising=False)
    quiet_tf.install()
    quiet_tf.install()
    hooks = [f for f in sys.meta_path if type(f).__name__ == "_QuietTensorFlowFinder"]
    assert len(hooks) == 1
    monkeypatch.setenv(quiet_tf.VERBOSE_ENV, "1" if verbose else "0")  # --verbose comes after the imports
    spec = hooks[0].find_spec("tensorflow")
    assert hooks[0] not in sys.meta_path, "it acts on the first import only"
    assert (spec is None) == verbose
    assert verbose or type(spec.loader).__name__ == "_QuietLoader"


@pytest.mark.parametrize("preset", [None, "0"])
def test_the_first_import_hides_later_cpp_info_lines_unless_the_user_chose_a_level(monkeypatch, preset):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    monkeypatch.delenv(quiet_tf.VERBOSE_ENV, raising=False)
    if preset is None:
        monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", preset)
    quiet_tf.install()
    next(f for f in sys.meta_path if type(f).__name__ == "_QuietTensorFlowFinder").find_spec("tensorflow")
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == (preset or quiet_tf.QUIET_LEVEL)
