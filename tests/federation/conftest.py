from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.federation.instance import Instance, env_for, free_port


@pytest.fixture
def pair(instance_env, tmp_path: Path) -> Iterator[tuple[Instance, Instance]]:
    """Two `fedi serve` processes on loopback, each with its own database and media folder."""
    port_a, port_b = free_port(), free_port()
    a = Instance(env_for(instance_env(0, port_a)), port_a, tmp_path, "a")
    b = Instance(env_for(instance_env(1, port_b)), port_b, tmp_path, "b")
    try:
        yield a, b
    finally:
        for inst in (a, b):
            inst.stop()
