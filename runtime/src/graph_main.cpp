//===- graph_main.cpp - main() of a compiled ONNX graph -------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// The executable `llamac compile model.onnx --graph -o g` writes: it reads
// each graph input from an ONNX TensorProto file (the format of the ONNX
// backend tests' input_N.pb), runs the graph, and writes each output as a
// TensorProto file. TensorProto's wire format is read and written here
// directly (varints and length-delimited fields), so the executable needs
// no protobuf library.
//
//===----------------------------------------------------------------------===//

#include "llamac/llamac_graph.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct TensorSpec {
  bool output = false;
  std::string name;
  int type = 0;
  std::vector<int64_t> dims;

  int64_t count() const {
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    return n;
  }
};

int elementBytes(int type) {
  switch (type) {
  case 2: // uint8
  case 3: // int8
  case 9: // bool
    return 1;
  case 4:  // uint16
  case 5:  // int16
  case 10: // float16
  case 16: // bfloat16
    return 2;
  case 1:  // float
  case 6:  // int32
  case 12: // uint32
    return 4;
  case 7:  // int64
  case 11: // double
  case 13: // uint64
    return 8;
  default:
    return 0;
  }
}

const char *typeName(int type) {
  switch (type) {
  case 1:
    return "float";
  case 2:
    return "uint8";
  case 3:
    return "int8";
  case 4:
    return "uint16";
  case 12:
    return "uint32";
  case 13:
    return "uint64";
  case 5:
    return "int16";
  case 6:
    return "int32";
  case 7:
    return "int64";
  case 9:
    return "bool";
  case 10:
    return "float16";
  case 11:
    return "double";
  case 16:
    return "bfloat16";
  default:
    return "an unknown type";
  }
}

std::string shapeText(const std::vector<int64_t> &dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? "," : "") + std::to_string(dims[i]);
  return text + "]";
}

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::exit(1);
}

std::vector<TensorSpec> parseInfo() {
  std::vector<TensorSpec> specs;
  const char *p = llamac_graph_info;
  if (std::strncmp(p, "llamac-graph 1\n", 15) != 0)
    die("this executable's graph description has an unknown version");
  p += 15;
  while (*p) {
    const char *end = std::strchr(p, '\n');
    std::string line(p, end ? end - p : std::strlen(p));
    p = end ? end + 1 : p + line.size();
    char kind[16], name[4096];
    int type = 0, rank = 0, used = 0;
    if (std::sscanf(line.c_str(), "%15s %4095s %d %d%n", kind, name, &type,
                    &rank, &used) != 4)
      die("malformed graph description line: " + line);
    TensorSpec spec;
    spec.output = std::strcmp(kind, "output") == 0;
    spec.name = name;
    spec.type = type;
    const char *q = line.c_str() + used;
    for (int i = 0; i < rank; ++i) {
      char *next = nullptr;
      spec.dims.push_back(std::strtoll(q, &next, 10));
      q = next;
    }
    specs.push_back(spec);
  }
  return specs;
}

/// A protobuf reader over one message's bytes.
class Reader {
public:
  Reader(const uint8_t *data, size_t size, const std::string &file)
      : p_(data), end_(data + size), file_(file) {}

  bool done() const { return p_ >= end_; }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_)
        die(file_ + ": truncated TensorProto");
      uint8_t byte = *p_++;
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80))
        return value;
    }
    die(file_ + ": malformed varint in TensorProto");
  }

  /// A length-delimited field's bytes.
  std::pair<const uint8_t *, size_t> bytes() {
    uint64_t length = varint();
    if (length > static_cast<uint64_t>(end_ - p_))
      die(file_ + ": truncated TensorProto");
    const uint8_t *start = p_;
    p_ += length;
    return {start, static_cast<size_t>(length)};
  }

  void skip(int wire) {
    switch (wire) {
    case 0:
      varint();
      return;
    case 1:
      advance(8);
      return;
    case 2:
      bytes();
      return;
    case 5:
      advance(4);
      return;
    default:
      die(file_ + ": unsupported protobuf wire type " + std::to_string(wire));
    }
  }

  void advance(size_t n) {
    if (n > static_cast<size_t>(end_ - p_))
      die(file_ + ": truncated TensorProto");
    p_ += n;
  }

private:
  const uint8_t *p_, *end_;
  std::string file_;
};

struct Tensor {
  std::string name;
  int type = 0;
  std::vector<int64_t> dims;
  std::vector<uint8_t> data; // raw little-endian elements
};

std::vector<uint8_t> readFile(const std::string &path) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    die("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> data;
  uint8_t buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0)
    data.insert(data.end(), buffer, buffer + n);
  std::fclose(f);
  return data;
}

/// Reads a TensorProto: dims (1), data_type (2), float_data (4),
/// int32_data (5), int64_data (7), name (8), raw_data (9), double_data (10).
Tensor readTensor(const std::string &path) {
  std::vector<uint8_t> file = readFile(path);
  Reader r(file.data(), file.size(), path);
  Tensor t;
  std::vector<int64_t> ints; // int32_data / int64_data values
  std::vector<uint8_t> typed;
  bool haveRaw = false;
  while (!r.done()) {
    uint64_t key = r.varint();
    int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    if (field == 1 && wire == 0) {
      t.dims.push_back(static_cast<int64_t>(r.varint()));
    } else if (field == 1 && wire == 2) {
      auto [p, n] = r.bytes();
      Reader packed(p, n, path);
      while (!packed.done())
        t.dims.push_back(static_cast<int64_t>(packed.varint()));
    } else if (field == 2 && wire == 0) {
      t.type = static_cast<int>(r.varint());
    } else if ((field == 4 || field == 10) && wire == 2) {
      auto [p, n] = r.bytes();
      typed.insert(typed.end(), p, p + n);
    } else if ((field == 5 || field == 7 || field == 11) && wire == 2) {
      auto [p, n] = r.bytes();
      Reader packed(p, n, path);
      while (!packed.done())
        ints.push_back(static_cast<int64_t>(packed.varint()));
    } else if ((field == 5 || field == 7 || field == 11) && wire == 0) {
      ints.push_back(static_cast<int64_t>(r.varint()));
    } else if (field == 8 && wire == 2) {
      auto [p, n] = r.bytes();
      t.name.assign(reinterpret_cast<const char *>(p), n);
    } else if (field == 9 && wire == 2) {
      auto [p, n] = r.bytes();
      t.data.assign(p, p + n);
      haveRaw = true;
    } else if (field == 14 && wire == 0 && r.varint() == 1) {
      die(path + ": external data is not read here");
    } else {
      r.skip(wire);
    }
  }
  int bytes = elementBytes(t.type);
  if (!bytes)
    die(path + ": element type " + std::to_string(t.type) +
        " is not supported");
  int64_t count = 1;
  for (int64_t d : t.dims)
    count *= d;
  if (!haveRaw) {
    if (!typed.empty()) {
      t.data = typed;
    } else {
      // Narrow types live in int32_data, 64-bit ones in int64_data.
      t.data.resize(ints.size() * bytes);
      for (size_t i = 0; i < ints.size(); ++i)
        std::memcpy(t.data.data() + i * bytes, &ints[i], bytes);
    }
  }
  if (static_cast<int64_t>(t.data.size()) != count * bytes)
    die(path + ": " + std::to_string(t.data.size()) + " bytes of data for " +
        std::to_string(count) + " elements of " + typeName(t.type));
  return t;
}

void putVarint(std::string &out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void writeTensor(const std::string &path, const TensorSpec &spec,
                 const uint8_t *data) {
  std::string out;
  for (int64_t d : spec.dims) {
    putVarint(out, (1 << 3) | 0);
    putVarint(out, static_cast<uint64_t>(d));
  }
  putVarint(out, (2 << 3) | 0);
  putVarint(out, static_cast<uint64_t>(spec.type));
  putVarint(out, (8 << 3) | 2);
  putVarint(out, spec.name.size());
  out += spec.name;
  size_t bytes = static_cast<size_t>(spec.count()) * elementBytes(spec.type);
  putVarint(out, (9 << 3) | 2);
  putVarint(out, bytes);
  out.append(reinterpret_cast<const char *>(data), bytes);
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(out.data(), 1, out.size(), f) != out.size())
    die("cannot write '" + path + "': " + std::strerror(errno));
  std::fclose(f);
}

void usage(const char *program, const std::vector<TensorSpec> &specs) {
  std::printf("usage: %s [INPUT.pb | NAME=INPUT.pb]... [-o DIR]\n\n"
              "Runs the compiled ONNX graph: reads each input from an ONNX "
              "TensorProto file\n(in order, or by name), writes each output "
              "to DIR/output_<i>.pb (default: .).\n\n",
              program);
  for (const TensorSpec &spec : specs)
    std::printf("  %-6s %-24s %s %s\n", spec.output ? "output" : "input",
                spec.name.c_str(), typeName(spec.type),
                shapeText(spec.dims).c_str());
}

} // namespace

int main(int argc, char **argv) {
  std::vector<TensorSpec> specs = parseInfo();
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> named;
  std::string outputDir = ".";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(argv[0], specs);
      return 0;
    }
    if (arg == "-o" || arg == "--output-dir") {
      if (++i >= argc)
        die(arg + " needs a directory");
      outputDir = argv[i];
      continue;
    }
    size_t eq = arg.find('=');
    if (eq != std::string::npos)
      named.emplace_back(arg.substr(0, eq), arg.substr(eq + 1));
    else
      positional.push_back(arg);
  }

  std::vector<const TensorSpec *> inputs, outputs;
  for (const TensorSpec &spec : specs)
    (spec.output ? outputs : inputs).push_back(&spec);
  std::vector<std::string> files(inputs.size());
  if (positional.size() > inputs.size())
    die("the graph takes " + std::to_string(inputs.size()) + " inputs, " +
        std::to_string(positional.size()) + " files were given");
  for (size_t i = 0; i < positional.size(); ++i)
    files[i] = positional[i];
  for (const auto &[name, file] : named) {
    size_t i = 0;
    while (i < inputs.size() && inputs[i]->name != name)
      ++i;
    if (i == inputs.size())
      die("the graph has no input '" + name + "'");
    files[i] = file;
  }

  std::vector<std::vector<uint8_t>> storage;
  std::vector<void *> buffers;
  storage.reserve(specs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorSpec &spec = *inputs[i];
    if (files[i].empty())
      die("no value for input '" + spec.name + "' (" + typeName(spec.type) +
          " " + shapeText(spec.dims) + ")");
    Tensor t = readTensor(files[i]);
    if (t.type != spec.type || t.dims != spec.dims)
      die(files[i] + ": input '" + spec.name + "' is " + typeName(spec.type) +
          " " + shapeText(spec.dims) + ", the file holds " + typeName(t.type) +
          " " + shapeText(t.dims));
    storage.push_back(std::move(t.data));
    buffers.push_back(storage.back().data());
  }
  for (const TensorSpec *spec : outputs) {
    storage.emplace_back(
        static_cast<size_t>(spec->count()) * elementBytes(spec->type) + 1);
    buffers.push_back(storage.back().data());
  }
  llamac_graph_run(buffers.data());
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string path = outputDir + "/output_" + std::to_string(i) + ".pb";
    writeTensor(path, *outputs[i],
                static_cast<const uint8_t *>(buffers[inputs.size() + i]));
    std::printf("%s: %s %s %s\n", path.c_str(), outputs[i]->name.c_str(),
                typeName(outputs[i]->type),
                shapeText(outputs[i]->dims).c_str());
  }
  return 0;
}
