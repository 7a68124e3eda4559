"""The numpy reference (reference.py) run on a llama GGUF file's weights.

Tensors are decoded with the `gguf` package's dequantizers, renamed to the
Hugging Face layout, and the query/key rows un-permuted (the inverse of the
converter's permutation, see make_gguf.permute), so that reference.Llama
computes the model exactly as transformers would from the same weights.
"""

import gguf
import numpy as np

import make_gguf
import reference

REVERSE = {v: k for k, v in make_gguf.NAMES.items()}


def _field(reader, key):
    f = reader.fields[key]
    value = f.parts[f.data[0]]
    return value.tolist()[0] if hasattr(value, "tolist") else value


class GGUFLlama(reference.Llama):
    def __init__(self, path, int8=False):  # noqa: D401 (reads a GGUF file)
        """`int8`: model the 8-bit activations of int8 dot-product kernels
        for every block-quantized matrix."""
        reader = gguf.GGUFReader(path)
        quantized_types = {gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_0,
                           gguf.GGMLQuantizationType.Q4_1}
        self.int8 = set()
        heads = _field(reader, "llama.attention.head_count")
        kv_heads = _field(reader, "llama.attention.head_count_kv")
        hidden = _field(reader, "llama.embedding_length")
        self.config = {
            "hidden_size": hidden,
            "num_attention_heads": heads,
            "num_key_value_heads": kv_heads,
            "num_hidden_layers": _field(reader, "llama.block_count"),
            "rms_norm_eps": _field(reader, "llama.attention.layer_norm_rms_epsilon"),
            "rope_theta": _field(reader, "llama.rope.freq_base"),
            "vocab_size": 0,
        }
        self.w = {}
        names = {t.name for t in reader.tensors}
        for t in reader.tensors:
            data = gguf.quants.dequantize(t.data, t.tensor_type)
            shape = [int(n) for n in reversed(t.shape)]
            array = np.asarray(data, dtype=np.float64).reshape(shape)
            if t.name.startswith("blk."):
                layer, rest = t.name[4:].split(".", 1)
                name = f"model.layers.{layer}." + REVERSE[rest]
            else:
                name = REVERSE[t.name]
            if rest_is(t.name, "attn_q.weight"):
                array = array[np.argsort(make_gguf.permute(np.arange(shape[0]), heads))]
            elif rest_is(t.name, "attn_k.weight"):
                array = array[np.argsort(make_gguf.permute(np.arange(shape[0]), kv_heads))]
            self.w[name] = array
            if int8 and array.ndim == 2 and t.tensor_type in quantized_types:
                self.int8.add(name)
        self.config["tie_word_embeddings"] = "output.weight" not in names
        self.config["vocab_size"] = self.w["model.embed_tokens.weight"].shape[0]
        self.hidden = hidden
        self.heads = heads
        self.kv_heads = kv_heads
        self.head_dim = hidden // heads
        self.layers = self.config["num_hidden_layers"]
        self.eps = self.config["rms_norm_eps"]
        self.inv_freq = self._inv_freq(self.config["rope_theta"], {})
        self.tied = self.config["tie_word_embeddings"]


def rest_is(name, suffix):
    return name.startswith("blk.") and name.endswith(suffix)
