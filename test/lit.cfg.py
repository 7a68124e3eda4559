# -*- Python -*-
# lit configuration of llamac's tests: FileCheck tests of the dialects,
# passes, conversions, importers and driver, run with the tools of the build.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "llamac"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.llamac_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "e2e", "models",
                   "genai_llama", "tokenizer", "golden"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.llamac_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["llamac-opt", "llamac", "llvm-nm"], tool_dirs)

# Driver tests generate small checkpoints with the project's Python tools.
config.substitutions.append(("%llamac_python", config.llamac_python))
config.substitutions.append(("%models", os.path.join(config.llamac_src_root, "test", "models")))
