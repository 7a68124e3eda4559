//===- TokenizerImport.cpp - Tokenizers from model files ------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file maps Hugging Face tokenizer.json files and GGUF tokenizer
// metadata onto TokenizerSpec.
//
// Byte-level vocabularies spell bytes with GPT-2's printable alphabet (bytes
// that print as themselves keep their code point, the others are moved to
// U+0100 and up, in byte order); token strings are mapped back to raw bytes
// here so the runtime works on bytes alone. The split patterns llamac
// implements are recognised by their exact regex text.
//
//===----------------------------------------------------------------------===//

#include "frontend/tokenizer/TokenizerImport.h"
#include "frontend/gguf/GGUF.h"

#include "runtime/src/unicode.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <map>

using namespace llamac;
using namespace llamac::runtime;
using llvm::createStringError;
using llvm::formatv;
using llvm::StringRef;
namespace json = llvm::json;

namespace {

constexpr StringRef kGPT2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+("
    "?!\\S)|\\s+";
constexpr StringRef kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr StringRef kSpace = "\xE2\x96\x81";

/// GPT-2's byte alphabet: code point -> byte.
const std::map<uint32_t, uint8_t> &unicodeToByte() {
  static const std::map<uint32_t, uint8_t> table = [] {
    std::map<uint32_t, uint8_t> t;
    uint32_t shifted = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                       (b >= 0xAE && b <= 0xFF);
      t[printable ? b : shifted++] = static_cast<uint8_t>(b);
    }
    return t;
  }();
  return table;
}

/// A byte-level vocabulary string back to raw bytes; false if it uses a
/// character outside the alphabet.
bool byteLevelDecode(StringRef text, std::string &out) {
  out.clear();
  const auto &table = unicodeToByte();
  for (size_t i = 0; i < text.size();) {
    size_t length;
    uint32_t cp = decode_utf8(text.data() + i, text.size() - i, &length);
    auto it = table.find(cp);
    if (it == table.end())
      return false;
    out += static_cast<char>(it->second);
    i += length;
  }
  return true;
}

llvm::Expected<json::Value> readJSON(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return createStringError(buffer.getError(), "cannot read '%s': %s",
                             path.str().c_str(),
                             buffer.getError().message().c_str());
  llvm::Expected<json::Value> value = json::parse((*buffer)->getBuffer());
  if (!value)
    return createStringError("%s: invalid JSON: %s", path.str().c_str(),
                             llvm::toString(value.takeError()).c_str());
  return value;
}

/// State gathered while walking tokenizer.json's components.
struct JSONImport {
  StringRef path;
  TokenizerSpec spec;
  bool byteLevel = false;
  bool hasNormalizer = false;

  llvm::Error fail(const llvm::Twine &what) const {
    return createStringError("%s: %s", path.str().c_str(), what.str().c_str());
  }

  llvm::Error normalizer(const json::Value *value);
  llvm::Error preTokenizer(const json::Value *value);
  llvm::Error decoder(const json::Value *value);
};

llvm::Error JSONImport::normalizer(const json::Value *value) {
  if (!value || value->kind() == json::Value::Null)
    return llvm::Error::success();
  const json::Object *o = value->getAsObject();
  std::optional<StringRef> type = o ? o->getString("type") : std::nullopt;
  if (!type)
    return fail("normalizer without a type");
  hasNormalizer = true;
  if (*type == "Sequence") {
    const json::Array *list = o->getArray("normalizers");
    if (!list)
      return fail("Sequence normalizer without 'normalizers'");
    for (const json::Value &item : *list)
      if (llvm::Error e = normalizer(&item))
        return e;
    return llvm::Error::success();
  }
  if (*type == "Prepend") {
    if (o->getString("prepend") != kSpace)
      return fail("only a Prepend normalizer of \"▁\" is supported");
    spec.flags |= kPrependSpace;
    return llvm::Error::success();
  }
  if (*type == "Replace") {
    const json::Object *pattern = o->getObject("pattern");
    std::optional<StringRef> from =
        pattern ? pattern->getString("String") : std::nullopt;
    if (from != " " || o->getString("content") != kSpace)
      return fail("only the Replace normalizer of ' ' by \"▁\" is supported");
    spec.flags |= kReplaceSpaces;
    return llvm::Error::success();
  }
  return fail("normalizer '" + *type + "' is not supported");
}

llvm::Error JSONImport::preTokenizer(const json::Value *value) {
  if (!value || value->kind() == json::Value::Null)
    return llvm::Error::success();
  const json::Object *o = value->getAsObject();
  std::optional<StringRef> type = o ? o->getString("type") : std::nullopt;
  if (!type)
    return fail("pre_tokenizer without a type");
  if (*type == "Sequence") {
    const json::Array *list = o->getArray("pretokenizers");
    if (!list)
      return fail("Sequence pre_tokenizer without 'pretokenizers'");
    for (const json::Value &item : *list)
      if (llvm::Error e = preTokenizer(&item))
        return e;
    return llvm::Error::success();
  }
  if (*type == "ByteLevel") {
    byteLevel = true;
    spec.flags |= kByteLevel;
    if (o->getBoolean("add_prefix_space").value_or(false))
      spec.flags |= kAddPrefixSpace;
    if (o->getBoolean("use_regex").value_or(true)) {
      if (spec.pattern != SplitPattern::None)
        return fail("a ByteLevel pre_tokenizer with use_regex after a Split "
                    "is not supported");
      spec.pattern = SplitPattern::GPT2;
    }
    return llvm::Error::success();
  }
  if (*type == "Digits") {
    if (!o->getBoolean("individual_digits").value_or(false))
      return fail("only Digits with individual_digits is supported");
    if (spec.pattern != SplitPattern::None)
      return fail("Digits must come before the split pattern");
    spec.flags |= kSplitDigits;
    return llvm::Error::success();
  }
  if (*type == "Split") {
    const json::Object *pattern = o->getObject("pattern");
    std::optional<StringRef> regex =
        pattern ? pattern->getString("Regex") : std::nullopt;
    if (!regex)
      return fail("only Split pre_tokenizers with a Regex are supported");
    if (o->getString("behavior") != "Isolated" ||
        o->getBoolean("invert").value_or(false))
      return fail("only Split pre_tokenizers with behavior Isolated are "
                  "supported");
    if (*regex == kLlama3Pattern)
      spec.pattern = SplitPattern::Llama3;
    else if (*regex == kGPT2Pattern)
      spec.pattern = SplitPattern::GPT2;
    else
      return fail("split pattern '" + *regex +
                  "' is not one llamac implements (GPT-2, Llama-3)");
    return llvm::Error::success();
  }
  if (*type == "Metaspace") {
    if (o->getString("replacement").value_or(kSpace) != kSpace)
      return fail("Metaspace with a replacement other than \"▁\"");
    spec.flags |= kReplaceSpaces;
    StringRef scheme = o->getString("prepend_scheme").value_or("always");
    if (scheme == "first")
      spec.flags |= kPrependSpace | kPrependFirstOnly | kPrependIfMissing;
    else if (scheme == "always")
      spec.flags |= kPrependSpace | kPrependIfMissing;
    else if (scheme != "never")
      return fail("Metaspace prepend_scheme '" + scheme + "' is unknown");
    if (o->getBoolean("split").value_or(true))
      spec.flags |= kSplitOnSpace;
    return llvm::Error::success();
  }
  return fail("pre_tokenizer '" + *type + "' is not supported");
}

llvm::Error JSONImport::decoder(const json::Value *value) {
  if (!value || value->kind() == json::Value::Null)
    return llvm::Error::success();
  const json::Object *o = value->getAsObject();
  std::optional<StringRef> type = o ? o->getString("type") : std::nullopt;
  if (!type)
    return fail("decoder without a type");
  if (*type == "Sequence") {
    const json::Array *list = o->getArray("decoders");
    if (!list)
      return fail("Sequence decoder without 'decoders'");
    for (const json::Value &item : *list)
      if (llvm::Error e = decoder(&item))
        return e;
    return llvm::Error::success();
  }
  if (*type == "ByteLevel" || *type == "ByteFallback" || *type == "Fuse")
    return llvm::Error::success();
  if (*type == "Replace") {
    const json::Object *pattern = o->getObject("pattern");
    if (!pattern || pattern->getString("String") != kSpace ||
        o->getString("content") != " ")
      return fail("only the Replace decoder of \"▁\" by ' ' is supported");
    spec.flags |= kDecodeSpaces;
    return llvm::Error::success();
  }
  if (*type == "Strip") {
    if (o->getString("content") != " " ||
        o->getInteger("start").value_or(0) != 1 ||
        o->getInteger("stop").value_or(0) != 0)
      return fail("only the Strip decoder of one leading ' ' is supported");
    spec.flags |= kStripLeadingSpace;
    return llvm::Error::success();
  }
  if (*type == "Metaspace") {
    spec.flags |= kDecodeSpaces;
    if (o->getString("prepend_scheme").value_or("always") != "never")
      spec.flags |= kStripLeadingSpace;
    return llvm::Error::success();
  }
  return fail("decoder '" + *type + "' is not supported");
}

} // namespace

ChatTemplate llamac::detectChatTemplate(StringRef text,
                                        std::string *outDefaultSystem) {
  outDefaultSystem->clear();
  if (text.contains("<|im_start|>")) {
    // A default system prompt written as a literal into the template.
    StringRef marker = "<|im_start|>system\n";
    size_t at = text.find(marker);
    if (at != StringRef::npos) {
      StringRef rest = text.drop_front(at + marker.size());
      size_t end = rest.find("<|im_end|>");
      StringRef system = rest.take_front(end);
      if (end != StringRef::npos && !system.contains('{') &&
          !system.contains('\''))
        *outDefaultSystem = system.str();
    }
    return ChatTemplate::ChatML;
  }
  if (text.contains("<|start_header_id|>"))
    return ChatTemplate::Llama3;
  if (text.contains("[INST]"))
    return ChatTemplate::Llama2;
  return ChatTemplate::None;
}

llvm::Expected<TokenizerSpec>
llamac::importTokenizerJSON(StringRef path, StringRef configPath) {
  llvm::Expected<json::Value> root = readJSON(path);
  if (!root)
    return root.takeError();
  JSONImport in;
  in.path = path;
  const json::Object *object = root->getAsObject();
  if (!object)
    return in.fail("expected a JSON object");
  const json::Object *model = object->getObject("model");
  if (!model)
    return in.fail("no 'model'");
  std::optional<StringRef> modelType = model->getString("type");
  if (modelType && *modelType != "BPE")
    return in.fail("model type '" + *modelType +
                   "' is not supported (llamac reads BPE tokenizers)");
  for (StringRef key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (const json::Value *v = model->get(key))
      if (v->kind() != json::Value::Null &&
          !(v->getAsString() && v->getAsString()->empty()))
        return in.fail("BPE '" + key + "' is not supported");
  if (const json::Value *dropout = model->get("dropout"))
    if (dropout->kind() != json::Value::Null)
      return in.fail("BPE dropout makes tokenization random; it is not "
                     "supported");

  if (llvm::Error e = in.normalizer(object->get("normalizer")))
    return std::move(e);
  if (llvm::Error e = in.preTokenizer(object->get("pre_tokenizer")))
    return std::move(e);
  if (llvm::Error e = in.decoder(object->get("decoder")))
    return std::move(e);
  TokenizerSpec &spec = in.spec;
  spec.model = TokenizerModel::BPE;
  if (model->getBoolean("byte_fallback").value_or(false))
    spec.flags |= kByteFallback;
  if (model->getBoolean("ignore_merges").value_or(false))
    spec.flags |= kIgnoreMerges;

  // Vocabulary.
  const json::Object *vocab = model->getObject("vocab");
  if (!vocab)
    return in.fail("BPE model without a 'vocab'");
  int64_t size = 0;
  llvm::StringMap<int32_t> mapped; // vocabulary string -> id
  for (const auto &[key, value] : *vocab) {
    std::optional<int64_t> id = value.getAsInteger();
    if (!id || *id < 0 || *id > (1 << 24))
      return in.fail("vocab entry '" + StringRef(key) + "' has a bad id");
    size = std::max(size, *id + 1);
  }
  const json::Array *added = object->getArray("added_tokens");
  if (added)
    for (const json::Value &item : *added)
      if (const json::Object *token = item.getAsObject())
        if (std::optional<int64_t> id = token->getInteger("id"))
          if (*id >= 0 && *id <= (1 << 24))
            size = std::max(size, *id + 1);
  // Real vocabularies number their tokens 0, 1, 2, ... (an id or two may be
  // unused): the table is sized by the largest id, so a file of a few
  // entries must not ask for millions of slots.
  int64_t defined = static_cast<int64_t>(vocab->size()) +
                    (added ? static_cast<int64_t>(added->size()) : 0);
  if (size > 2 * defined + 1024)
    return in.fail(formatv("token ids run to {0} but only {1} tokens are "
                           "defined; ids must be (nearly) contiguous",
                           size - 1, defined)
                       .str());
  spec.tokens.assign(size, "");
  spec.types.assign(size, kTokenUnused);
  std::string bytes;
  for (const auto &[key, value] : *vocab) {
    int32_t id = static_cast<int32_t>(*value.getAsInteger());
    StringRef text = key;
    mapped[text] = id;
    if (in.byteLevel) {
      if (!byteLevelDecode(text, bytes))
        return in.fail("vocab entry '" + text +
                       "' is not in the byte-level alphabet");
      spec.tokens[id] = bytes;
    } else {
      spec.tokens[id] = text.str();
    }
    bool byteToken = text.size() == 6 && text.starts_with("<0x");
    spec.types[id] =
        byteToken && (spec.flags & kByteFallback) ? kTokenByte : kTokenNormal;
  }
  if (std::optional<StringRef> unk = model->getString("unk_token")) {
    auto it = mapped.find(*unk);
    if (it == mapped.end())
      return in.fail("unk_token '" + *unk + "' is not in the vocabulary");
    spec.unk = it->second;
    spec.types[spec.unk] = kTokenUnknown;
  }

  // Added tokens: matched in the text before anything else.
  if (added) {
    for (const json::Value &item : *added) {
      const json::Object *token = item.getAsObject();
      std::optional<int64_t> id =
          token ? token->getInteger("id") : std::nullopt;
      std::optional<StringRef> content =
          token ? token->getString("content") : std::nullopt;
      if (!id || !content || *id < 0 || *id >= size)
        return in.fail("an added token needs an id and a content");
      for (StringRef flag : {"lstrip", "rstrip", "single_word"})
        if (token->getBoolean(flag).value_or(false))
          return in.fail("added token '" + *content + "' sets " + flag +
                         ", which llamac does not support");
      bool special = token->getBoolean("special").value_or(false);
      if (token->getBoolean("normalized").value_or(!special) &&
          in.hasNormalizer)
        return in.fail("added token '" + *content +
                       "' is normalized, which llamac does not support");
      spec.tokens[*id] = content->str();
      spec.types[*id] = special ? kTokenControl : kTokenUserDefined;
      mapped[*content] = static_cast<int32_t>(*id);
    }
  }

  // Merges: "a b" strings or ["a", "b"] pairs.
  if (const json::Array *merges = model->getArray("merges")) {
    spec.merges.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) {
      const json::Value &merge = (*merges)[i];
      StringRef left, right;
      if (std::optional<StringRef> text = merge.getAsString()) {
        std::tie(left, right) = text->split(' ');
        if (right.empty() && !text->contains(' '))
          return in.fail(
              formatv("merge {0} ('{1}') is not two tokens", i, *text));
      } else if (const json::Array *pair = merge.getAsArray();
                 pair && pair->size() == 2 && (*pair)[0].getAsString() &&
                 (*pair)[1].getAsString()) {
        left = *(*pair)[0].getAsString();
        right = *(*pair)[1].getAsString();
      } else {
        return in.fail(formatv("merge {0} is neither \"a b\" nor [\"a\", "
                               "\"b\"]",
                               i));
      }
      auto l = mapped.find(left), r = mapped.find(right);
      if (l == mapped.end() || r == mapped.end())
        return in.fail(formatv("merge {0} ('{1} {2}') names a token that is "
                               "not in the vocabulary",
                               i, left, right));
      if (mapped.find((left + right).str()) == mapped.end())
        return in.fail(formatv("merge {0} ('{1} {2}') makes '{1}{2}', which "
                               "is not in the vocabulary",
                               i, left, right));
      spec.merges.push_back({l->second, r->second});
    }
  } else {
    return in.fail("BPE model without 'merges'");
  }

  // Special tokens the post-processor adds around a text.
  if (const json::Object *post = object->getObject("post_processor")) {
    std::function<llvm::Error(const json::Object &)> visit =
        [&](const json::Object &p) -> llvm::Error {
      StringRef type = p.getString("type").value_or("");
      if (type == "Sequence") {
        if (const json::Array *list = p.getArray("processors"))
          for (const json::Value &item : *list)
            if (const json::Object *o = item.getAsObject())
              if (llvm::Error e = visit(*o))
                return e;
        return llvm::Error::success();
      }
      if (type == "ByteLevel")
        return llvm::Error::success();
      if (type != "TemplateProcessing")
        return in.fail("post_processor '" + type + "' is not supported");
      const json::Array *single = p.getArray("single");
      if (!single)
        return in.fail("TemplateProcessing without 'single'");
      bool seenSequence = false;
      for (const json::Value &piece : *single) {
        const json::Object *o = piece.getAsObject();
        if (!o)
          continue;
        if (o->getObject("Sequence")) {
          seenSequence = true;
          continue;
        }
        const json::Object *special = o->getObject("SpecialToken");
        std::optional<StringRef> name =
            special ? special->getString("id") : std::nullopt;
        auto it = name ? mapped.find(*name) : mapped.end();
        if (it == mapped.end())
          return in.fail("TemplateProcessing names an unknown token");
        if (seenSequence) {
          spec.eos = it->second;
          spec.flags |= kAddEos;
        } else {
          spec.bos = it->second;
          spec.flags |= kAddBos;
        }
      }
      return llvm::Error::success();
    };
    if (llvm::Error e = visit(*post))
      return std::move(e);
  }

  // The chat template, from tokenizer_config.json.
  if (!configPath.empty() && llvm::sys::fs::exists(configPath)) {
    llvm::Expected<json::Value> config = readJSON(configPath);
    if (!config)
      return config.takeError();
    if (const json::Object *o = config->getAsObject()) {
      std::string text;
      if (std::optional<StringRef> s = o->getString("chat_template"))
        text = s->str();
      else if (const json::Array *list = o->getArray("chat_template"))
        for (const json::Value &item : *list)
          if (const json::Object *t = item.getAsObject())
            if (t->getString("name") == "default")
              text = t->getString("template").value_or("").str();
      spec.chat = detectChatTemplate(text, &spec.default_system_prompt);
      if (std::optional<bool> addBos = o->getBoolean("add_bos_token");
          addBos && !*addBos)
        spec.flags &= ~kAddBos;
    }
  }
  return std::move(spec);
}

llvm::Expected<TokenizerSpec>
llamac::importGGUFTokenizer(const GGUFFile &file) {
  auto fail = [&](const llvm::Twine &what) {
    return createStringError("%s: %s", file.path.c_str(), what.str().c_str());
  };
  const GGUFValue *model = file.find("tokenizer.ggml.model");
  const GGUFValue *tokens = file.find("tokenizer.ggml.tokens");
  if (!model || model->type != GGUFType::String)
    return fail("no tokenizer.ggml.model");
  if (!tokens || tokens->type != GGUFType::Array ||
      tokens->elementType != GGUFType::String)
    return fail("no tokenizer.ggml.tokens");
  size_t n = tokens->strings.size();
  const GGUFValue *types = file.find("tokenizer.ggml.token_type");
  if (types && (types->type != GGUFType::Array || types->integers.size() != n))
    return fail("tokenizer.ggml.token_type does not match the tokens");

  TokenizerSpec spec;
  spec.types.assign(n, kTokenNormal);
  if (types)
    for (size_t i = 0; i < n; ++i) {
      int64_t t = types->integers[i];
      if (t < 1 || t > 6)
        return fail(formatv("token {0} has unknown type {1}", i, t));
      spec.types[i] = static_cast<uint8_t>(t);
    }
  auto id = [&](StringRef key, int32_t fallback) -> int32_t {
    const GGUFValue *v = file.find(key);
    return v && v->isInteger() ? static_cast<int32_t>(v->integer) : fallback;
  };
  auto flag = [&](StringRef key, bool fallback) {
    const GGUFValue *v = file.find(key);
    return v && v->isInteger() ? v->integer != 0 : fallback;
  };
  spec.bos = id("tokenizer.ggml.bos_token_id", -1);
  spec.eos = id("tokenizer.ggml.eos_token_id", -1);
  spec.unk = id("tokenizer.ggml.unknown_token_id", -1);

  if (model->string == "gpt2") {
    spec.model = TokenizerModel::BPE;
    spec.flags |= kByteLevel;
    spec.tokens.resize(n);
    llvm::StringMap<int32_t> mapped;
    std::string bytes;
    for (size_t i = 0; i < n; ++i) {
      const std::string &text = tokens->strings[i];
      mapped.try_emplace(text, static_cast<int32_t>(i));
      bool literal =
          spec.types[i] == kTokenControl || spec.types[i] == kTokenUserDefined;
      if (!literal && byteLevelDecode(text, bytes))
        spec.tokens[i] = bytes;
      else if (literal)
        spec.tokens[i] = text;
      else
        return fail(formatv("token {0} is not in the byte-level alphabet", i));
    }
    const GGUFValue *merges = file.find("tokenizer.ggml.merges");
    if (!merges || merges->elementType != GGUFType::String)
      return fail("a gpt2 tokenizer needs tokenizer.ggml.merges");
    for (size_t i = 0; i < merges->strings.size(); ++i) {
      auto [left, right] = StringRef(merges->strings[i]).split(' ');
      auto l = mapped.find(left), r = mapped.find(right);
      if (l == mapped.end() || r == mapped.end())
        return fail(formatv("merge {0} ('{1}') names a token that is not in "
                            "the vocabulary",
                            i, merges->strings[i]));
      spec.merges.push_back({l->second, r->second});
    }
    StringRef pre = "default";
    if (const GGUFValue *p = file.find("tokenizer.ggml.pre"))
      pre = p->string;
    if (pre == "default" || pre == "gpt2" || pre == "gpt-2") {
      spec.pattern = SplitPattern::GPT2;
    } else if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3") {
      spec.pattern = SplitPattern::Llama3;
      spec.flags |= kIgnoreMerges;
    } else if (pre == "smollm") {
      spec.pattern = SplitPattern::GPT2;
      spec.flags |= kSplitDigits;
    } else {
      return fail("tokenizer.ggml.pre '" + pre +
                  "' is not a split pattern llamac implements (default, "
                  "gpt2, llama-bpe, smollm)");
    }
    if (flag("tokenizer.ggml.add_space_prefix", false))
      spec.flags |= kAddPrefixSpace;
  } else if (model->string == "llama") {
    spec.model = TokenizerModel::SentencePiece;
    spec.tokens = tokens->strings;
    const GGUFValue *scores = file.find("tokenizer.ggml.scores");
    if (!scores || scores->numbers.size() != n)
      return fail("a llama tokenizer needs one tokenizer.ggml.scores entry "
                  "per token");
    for (double s : scores->numbers)
      spec.scores.push_back(static_cast<float>(s));
    spec.flags |= kReplaceSpaces | kByteFallback | kDecodeSpaces;
    if (flag("tokenizer.ggml.add_space_prefix", true))
      spec.flags |= kPrependSpace | kStripLeadingSpace;
  } else {
    return fail("tokenizer model '" + model->string +
                "' is not supported (llamac reads gpt2 and llama)");
  }
  if (flag("tokenizer.ggml.add_bos_token",
           spec.model == TokenizerModel::SentencePiece))
    spec.flags |= kAddBos;
  if (flag("tokenizer.ggml.add_eos_token", false))
    spec.flags |= kAddEos;
  if (const GGUFValue *chat = file.find("tokenizer.chat_template"))
    spec.chat = detectChatTemplate(chat->string, &spec.default_system_prompt);
  return spec;
}
