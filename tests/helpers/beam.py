"""Beam's TestPipeline on the local FnApiRunner, named explicitly: Beam's default local runner
first tries to download the Prism binary (see the design page's traps)."""

from apache_beam.testing.test_pipeline import TestPipeline

from pipelines.runtime.options import DEFAULT_LOCAL_RUNNER


def local_pipeline() -> TestPipeline:
    return TestPipeline(runner=DEFAULT_LOCAL_RUNNER)
