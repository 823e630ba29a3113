"""Finds (or builds) libotlp_arrow for the tests and helps read the files back."""
import glob
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
# Test the working copy of the package (also when an older copy is pip-installed).
sys.path.insert(0, str(REPO / "ffi" / "python"))


def _find_library() -> str:
    for profile in ("debug", "release"):
        target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        path = target / profile / "libotlp_arrow.so"
        if path.exists():
            return str(path)
    subprocess.run(["cargo", "build", "-p", "otlp-arrow-ffi", "--quiet"], cwd=REPO, check=True)
    return _find_library()


if not os.environ.get("OTLP_ARROW_LIB"):
    os.environ["OTLP_ARROW_LIB"] = _find_library()


def read_rows(out_dir, signal):
    """All rows of the finalized files of `signal`, timestamps as integer nanoseconds."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    files = sorted(glob.glob(f"{out_dir}/{signal}/*.arrow"))
    if not files:
        return []
    table = pa.concat_tables(ipc.open_stream(f).read_all() for f in files)
    return table.cast(pa.schema([f.with_type(_ints(f.type)) for f in table.schema])).to_pylist()


def _ints(t):
    """`t` with every timestamp (at any depth) as int64 nanoseconds."""
    import pyarrow as pa

    if pa.types.is_timestamp(t):
        return pa.int64()
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_ints(t.value_type)))
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(_ints(t.field(i).type)) for i in range(t.num_fields)])
    return t


def attrs(pairs):
    """An Arrow attributes map as a plain dict of Python values."""
    out = {}
    for key, v in pairs:
        out[key] = {
            0: None,
            1: v["string_value"],
            2: v["bool_value"],
            3: v["int_value"],
            4: v["double_value"],
            5: v["array_value"],
            6: v["kvlist_value"],
            7: v["bytes_value"],
        }[v["type"]]
    return out


@pytest.fixture
def out_dir(tmp_path):
    return tmp_path / "otlp-data"
