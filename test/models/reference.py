#!/usr/bin/env python3
"""An independent numpy reference of the Llama forward pass.

Written from the model's math (as transformers' LlamaForCausalLM defines it),
not from llamac's code: RMSNorm, rotary embeddings with the rotate-half
convention (and llama3 / linear frequency scaling), causal grouped-query
attention over all positions at once, SwiGLU feed-forward, tied or separate
output projection. Computed in float64.
"""

import glob
import json
import math
import os

import numpy as np

import safetensors_io


class Llama:
    def __init__(self, directory, weights=None, int8=(), bf16_tiles=()):
        """`weights`, when given, replaces the checkpoint's tensors (for
        example by what a quantized file decodes to). `int8` names the
        matrices whose products use activations quantized to 8 bits per
        block of 32 (s = max|x| / 127, round half to even), as int8 dot
        product kernels compute them. `bf16_tiles` names the matrices whose
        products take tiles of 16 tokens x 16 rows in bf16 (both operands
        rounded to bf16, to nearest even), as AMX bf16 tile products do: the
        first T // 16 * 16 tokens x the first rows // 16 * 16 rows."""
        self.int8 = set(int8)
        self.bf16_tiles = set(bf16_tiles)
        with open(os.path.join(directory, "config.json")) as f:
            self.config = c = json.load(f)
        self.w = {}
        for path in sorted(glob.glob(os.path.join(directory, "*.safetensors"))):
            self.w.update({k: v.astype(np.float64) for k, v in safetensors_io.read(path).items()})
        if weights:
            self.w.update({k: np.asarray(v, dtype=np.float64) for k, v in weights.items()})
        self.hidden = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads") or self.heads
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.layers = c["num_hidden_layers"]
        self.eps = c.get("rms_norm_eps", 1e-6)
        rope = c.get("rope_parameters") or dict(c.get("rope_scaling") or {})
        theta = rope.get("rope_theta", c.get("rope_theta", 10000.0))
        self.inv_freq = self._inv_freq(theta, rope)
        self.tied = c.get("tie_word_embeddings", False)

    def _inv_freq(self, theta, scaling):
        d = self.head_dim
        inv = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
        kind = scaling.get("rope_type", scaling.get("type", "default"))
        if kind == "linear":
            return inv / scaling["factor"]
        if kind != "llama3":
            return inv
        factor = scaling["factor"]
        low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        out = []
        for f in inv:
            wavelength = 2 * math.pi / f
            if wavelength < old / high:
                out.append(f)
            elif wavelength > old / low:
                out.append(f / factor)
            else:
                s = (old / wavelength - low) / (high - low)
                out.append((1 - s) * f / factor + s * f)
        return np.array(out)

    @staticmethod
    def rms_norm(x, w, eps):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w

    def rope(self, x, positions):
        # x: (T, heads, head_dim); pairs (i, i + d/2).
        angles = positions[:, None] * self.inv_freq[None, :]
        cos = np.concatenate([np.cos(angles)] * 2, axis=-1)[:, None, :]
        sin = np.concatenate([np.sin(angles)] * 2, axis=-1)[:, None, :]
        half = self.head_dim // 2
        rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
        return x * cos + rotated * sin

    # Matrices whose prompt tiles are bf16 (see __init__); none in
    # subclasses that load their weights otherwise.
    bf16_tiles = frozenset()

    # The smallest distance, in quantization steps, from a scaled activation
    # to a rounding boundary (k + 1/2) since the last reset. Float32 kernels
    # compute activations that differ from these float64 ones by ~1e-5
    # steps, so where the margin is wider they round every value the same
    # way and match tightly; where it is narrower, one value may round the
    # other way, which moves the logits by up to the int8 error itself.
    tie_margin = math.inf

    def quantize_activations(self, x):
        """x as 8-bit integers per block of 32 times a per-block scale."""
        blocks = x.reshape(*x.shape[:-1], -1, 32)
        amax = np.abs(blocks).max(axis=-1, keepdims=True)
        inverse = np.where(amax == 0, 0.0, 127.0 / np.where(amax == 0, 1.0, amax))
        scaled = blocks * inverse
        distance = np.abs(np.abs(scaled) % 1.0 - 0.5)
        self.tie_margin = min(self.tie_margin, float(distance.min()))
        q = np.round(scaled.astype(np.float32))
        return (q * (amax / 127.0)).reshape(x.shape)

    @staticmethod
    def round_bf16(x):
        """x rounded to float32, then to bf16 (to nearest, ties to even)."""
        bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
        bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
        return bits.astype(np.uint32).view(np.float32).astype(np.float64)

    def matmul(self, x, name):
        w = self.w[name]
        if name in self.int8:
            x = self.quantize_activations(x)
        y = x @ w.T
        if name in self.bf16_tiles:
            t, n = x.shape[0] // 16 * 16, w.shape[0] // 16 * 16
            y[:t, :n] = self.round_bf16(x[:t]) @ self.round_bf16(w[:n]).T
        return y

    def linear(self, x, name):
        y = self.matmul(x, name + ".weight")
        if name + ".bias" in self.w:
            y = y + self.w[name + ".bias"]
        return y

    def forward(self, tokens):
        """Logits of every position, (T, vocab)."""
        tokens = np.asarray(tokens)
        T = len(tokens)
        positions = np.arange(T, dtype=np.float64)
        h = self.w["model.embed_tokens.weight"][tokens]
        group = self.heads // self.kv_heads
        mask = np.triu(np.full((T, T), -np.inf), k=1)
        for i in range(self.layers):
            p = f"model.layers.{i}."
            x = self.rms_norm(h, self.w[p + "input_layernorm.weight"], self.eps)
            q = self.linear(x, p + "self_attn.q_proj").reshape(T, self.heads, self.head_dim)
            k = self.linear(x, p + "self_attn.k_proj").reshape(T, self.kv_heads, self.head_dim)
            v = self.linear(x, p + "self_attn.v_proj").reshape(T, self.kv_heads, self.head_dim)
            q, k = self.rope(q, positions), self.rope(k, positions)
            out = np.empty_like(q)
            for head in range(self.heads):
                g = head // group
                scores = q[:, head] @ k[:, g].T / math.sqrt(self.head_dim) + mask
                scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
                scores /= scores.sum(axis=-1, keepdims=True)
                out[:, head] = scores @ v[:, g]
            h = h + self.linear(out.reshape(T, -1), p + "self_attn.o_proj")
            y = self.rms_norm(h, self.w[p + "post_attention_layernorm.weight"], self.eps)
            gate = self.linear(y, p + "mlp.gate_proj")
            up = self.linear(y, p + "mlp.up_proj")
            h = h + self.linear(gate / (1 + np.exp(-gate)) * up, p + "mlp.down_proj")
        h = self.rms_norm(h, self.w["model.norm.weight"], self.eps)
        return self.matmul(h, "model.embed_tokens.weight" if self.tied else "lm_head.weight")

    def greedy(self, prompt, steps):
        """Greedy ids and the logits each was chosen from, (steps, vocab)."""
        tokens = list(prompt)
        ids, rows = [], []
        self.margins = []  # tie_margin of each step's forward pass
        for _ in range(steps):
            self.tie_margin = math.inf
            logits = self.forward(tokens)[-1]
            self.margins.append(self.tie_margin)
            rows.append(logits)
            nxt = int(np.argmax(logits))
            ids.append(nxt)
            tokens.append(nxt)
        return ids, np.array(rows)
