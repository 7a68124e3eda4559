//===- LlamaDialect_test.cpp - Unit tests of the llama dialect ------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file tests what the lit tests cannot reach through the textual IR:
// the storage sizes of the quantization schemes (against GGML's published
// block sizes), verifier rules whose violation the syntax cannot even spell,
// and the rotary frequencies (against Hugging Face's llama3 formula evaluated
// independently with numpy).
//
//===----------------------------------------------------------------------===//

#include "dialects/Llama/LlamaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <string>

using namespace mlir;
using namespace llamac::llama;

namespace {

class LlamaDialectTest : public ::testing::Test {
protected:
  LlamaDialectTest() { context.loadDialect<LlamaDialect, func::FuncDialect>(); }

  /// Runs `build` with a diagnostic handler and returns what it reported.
  template <typename Fn> std::string captureDiagnostics(Fn build) {
    std::string message;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      message += diag.str();
      return success();
    });
    build();
    return message;
  }

  MLIRContext context;
};

TEST_F(LlamaDialectTest, GGMLRowBytesMatchTheBlockFormats) {
  // GGML: Q8_0 = {f16 d; i8 qs[32]} is 34 bytes, Q4_0 = {f16 d; u8 qs[16]}
  // is 18 bytes, Q4_1 = {f16 d, m; u8 qs[16]} is 20 bytes, per 32 values.
  auto q8 = QuantSchemeAttr::getGGML(&context, QuantKind::Q8_0);
  auto q40 = QuantSchemeAttr::getGGML(&context, QuantKind::Q4_0);
  auto q41 = QuantSchemeAttr::getGGML(&context, QuantKind::Q4_1);
  EXPECT_EQ(q8.getRowBytes(576), 18 * 34);
  EXPECT_EQ(q40.getRowBytes(576), 18 * 18);
  EXPECT_EQ(q41.getRowBytes(1536), 48 * 20);

  auto type = QTensorType::get(&context, {1536, 576}, q40);
  EXPECT_EQ(type.getStorageBytes(), 1536 * 18 * 18);
}

TEST_F(LlamaDialectTest, Int4RowBytesCountScalesAndZeroPoints) {
  auto plain =
      QuantSchemeAttr::get(&context, QuantKind::Int4, int64_t{32}, false);
  auto withZeros =
      QuantSchemeAttr::get(&context, QuantKind::Int4, int64_t{32}, true);
  // 128 values = 4 blocks of 32: 16 bytes of nibbles + a 4-byte scale each,
  // plus one zero-point byte each when present.
  EXPECT_EQ(plain.getRowBytes(128), 4 * (16 + 4));
  EXPECT_EQ(withZeros.getRowBytes(128), 4 * (16 + 4 + 1));
}

TEST_F(LlamaDialectTest, GGMLSchemesRejectOtherBlockSizes) {
  // The textual syntax has no way to write these; the C++ API does.
  auto loc = UnknownLoc::get(&context);
  auto emitAtLoc = [&] { return emitError(loc); };
  llvm::function_ref<InFlightDiagnostic()> emit = emitAtLoc;
  std::string message = captureDiagnostics([&] {
    EXPECT_FALSE(QuantSchemeAttr::getChecked(emit, &context, QuantKind::Q8_0,
                                             int64_t{64}, false));
  });
  EXPECT_NE(message.find("q8_0 uses blocks of 32 values, not 64"),
            std::string::npos)
      << message;

  message = captureDiagnostics([&] {
    EXPECT_FALSE(QuantSchemeAttr::getChecked(emit, &context, QuantKind::Q4_1,
                                             int64_t{32}, true));
  });
  EXPECT_NE(message.find("q4_1 has no zero points"), std::string::npos)
      << message;
}

TEST_F(LlamaDialectTest, Llama3ScalingMatchesHuggingFace) {
  // Llama 3.1 8B: theta 500000, head_dim 128, factor 8, low 1, high 4,
  // original context 8192. Expected values: transformers'
  // _compute_llama3_parameters evaluated with numpy in float64.
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(R"mlir(
    func.func @f(%x: tensor<?x128xf32>, %p: index) -> tensor<?x128xf32> {
      %0 = llama.rope %x at %p head_dim = 128 theta = 500000.0
          scaling = <llama3, factor = 8.0, low_freq_factor = 1.0,
                     high_freq_factor = 4.0, original_max_position = 8192>
          : tensor<?x128xf32>
      return %0 : tensor<?x128xf32>
    })mlir",
                                                             &context);
  ASSERT_TRUE(module);
  RopeOp rope;
  module->walk([&](RopeOp op) { rope = op; });
  ASSERT_TRUE(rope);

  struct Expected {
    int64_t pair;
    double frequency;
  };
  const Expected expected[] = {
      {0, 1.0},                     // high frequency: kept
      {20, 0.016560440080994446},   // high frequency: kept
      {29, 0.002166570763503359},   // blended
      {31, 0.0008567514129196324},  // blended
      {34, 0.00017850781276799638}, // blended
      {40, 3.428102195952591e-05},  // low frequency: divided by 8
      {63, 3.068925988914511e-07},  // low frequency: divided by 8
  };
  for (const Expected &e : expected)
    EXPECT_NEAR(rope.getFrequency(e.pair) / e.frequency, 1.0, 1e-12)
        << "pair " << e.pair;
}

TEST_F(LlamaDialectTest, RopeWithoutScalingUsesThetaPowers) {
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(R"mlir(
    func.func @f(%x: tensor<?x64xf32>, %p: index) -> tensor<?x64xf32> {
      %0 = llama.rope %x at %p head_dim = 64 rotary_dim = 32 theta = 10000.0
          : tensor<?x64xf32>
      return %0 : tensor<?x64xf32>
    })mlir",
                                                             &context);
  ASSERT_TRUE(module);
  RopeOp rope;
  module->walk([&](RopeOp op) { rope = op; });
  ASSERT_TRUE(rope);
  // f_i = theta^(-2i/R) with R = rotary_dim = 32: f_8 = 10000^(-1/2) = 0.01.
  EXPECT_DOUBLE_EQ(rope.getFrequency(0), 1.0);
  EXPECT_NEAR(rope.getFrequency(8), 0.01, 1e-15);
  EXPECT_EQ(rope.getRotaryDimOrHeadDim(), 32);
}

TEST_F(LlamaDialectTest, AttentionDefaultScaleIsInverseSqrtHeadDim) {
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(R"mlir(
    func.func @f(%q: tensor<?x576xf32>, %k: tensor<?x192xf32>,
                 %v: tensor<?x192xf32>, %kc: tensor<2x3x16x64xf32>,
                 %vc: tensor<2x3x16x64xf32>, %p: index) -> tensor<?x576xf32> {
      %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p
          layer = 1 heads = 9 kv_heads = 3
          : tensor<?x576xf32>, tensor<?x192xf32>, tensor<?x192xf32>,
            tensor<2x3x16x64xf32>, tensor<2x3x16x64xf32> -> tensor<?x576xf32>
      return %o : tensor<?x576xf32>
    })mlir",
                                                             &context);
  ASSERT_TRUE(module);
  AttentionOp attention;
  module->walk([&](AttentionOp op) { attention = op; });
  ASSERT_TRUE(attention);
  EXPECT_DOUBLE_EQ(attention.getScaleOrDefault(), 0.125);
  EXPECT_EQ(attention.getKeyHeadDim(), 64);
  EXPECT_EQ(attention.getContextLength(), 16);
}

} // namespace
