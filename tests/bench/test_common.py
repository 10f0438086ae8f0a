"""bench.common: the machine line that every benchmark and model card records."""

from bench.common import machine, vector_isa


def test_vector_isa_names_the_widest_instructions():
    assert vector_isa({"sse2", "avx", "avx2"}) == "AVX2"
    assert vector_isa({"avx2", "avx512f"}) == "AVX-512"
    assert vector_isa({"avx2", "avx512f", "avx512_bf16"}) == "AVX-512 with bf16"
    assert vector_isa({"avx2", "amx_bf16"}) == "AVX-512 with bf16"
    assert vector_isa({"sse2"}) == "no AVX2"


def test_machine_names_cores_and_python():
    line = machine()
    assert " cores" in line and "Python " in line
