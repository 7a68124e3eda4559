"""`--emit lib`: the C program of docs/embedding.md, linked with the library.

The program's text is taken from the document itself, so the documentation
cannot drift from what works. Its greedy ids must equal the executable's.
"""

import os
import re
import shutil

from conftest import ROOT, run


def test_documented_c_program(model_factory, llamac, tmp_path):
    model = model_factory("lib", ["--layers", "2"])
    library = str(tmp_path / "libmodel.a")
    run([llamac, "compile", model.directory, "--emit", "lib", "-o", library, "--quiet"])
    for suffix in (".a", ".h", ".weights"):
        assert os.path.exists(str(tmp_path / ("libmodel" + suffix)))

    with open(os.path.join(ROOT, "docs", "embedding.md")) as f:
        program = re.search(r"```c\n(.*?)```", f.read(), re.S).group(1)
    assert len(program.strip().splitlines()) <= 30
    source = tmp_path / "main.c"
    source.write_text(program)
    binary = str(tmp_path / "main")
    sanitize = os.environ.get("LLAMAC_SANITIZE", "")
    if sanitize:
        # A sanitizer build's runtime needs the sanitizer runtime linked in.
        run([shutil.which("clang-22"), str(source), library, "-I", str(tmp_path),
             "-fsanitize=" + sanitize, "-lstdc++", "-lm", "-lpthread", "-o", binary])
    else:
        compiler = shutil.which("cc") or shutil.which("clang-22") or shutil.which("gcc")
        run([compiler, str(source), library, "-I", str(tmp_path), "-lstdc++", "-lm",
             "-lpthread", "-o", binary])

    out = run([binary, str(tmp_path / "libmodel.weights")]).stdout
    expected = run([model.exe, "--tokens", "1,2,3", "-n", "8", "--print-ids",
                    "--ignore-eos"]).stdout
    assert out.strip() == expected.strip().splitlines()[-1]

    # Wrong weights path: a clear message, no crash.
    result = run([binary, str(tmp_path / "missing.weights")], check=False)
    assert result.returncode == 1
    assert "missing.weights" in result.stderr
