//===- RuntimeToLLVM.cpp - lrt to LLVM conversion -------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file lowers `lrt.parallel_for` to `llamac_rt_parallel_for(runtime,
// n_tasks, trampoline, ctx)`: the (converted) arguments go into a struct on
// the caller's stack, and a trampoline per task function reads them back,
// unpacks memref descriptors into the task's LLVM arguments and calls it.
//
//===----------------------------------------------------------------------===//

#include "conversions/RuntimeToLLVM/RuntimeToLLVM.h"
#include "conversions/Passes.h"
#include "dialects/Runtime/RuntimeDialect.h"

#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Transforms/DialectConversion.h"

namespace llamac {
#define GEN_PASS_DEF_CONVERTRUNTIMETOLLVM
#include "conversions/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace llamac;

namespace {

constexpr StringLiteral kParallelFor = "llamac_rt_parallel_for";

/// Returns `<task>.trampoline`, creating it on first use:
///   void trampoline(ptr ctx, i64 begin, i64 end) {
///     task(begin, end, unpack(ctx->field0), unpack(ctx->field1), ...);
///   }
LLVM::LLVMFuncOp getOrCreateTrampoline(OpBuilder &builder, ModuleOp module,
                                       LLVM::LLVMFuncOp task,
                                       LLVM::LLVMStructType context,
                                       TypeRange originalTypes) {
  std::string name = (task.getName() + ".trampoline").str();
  if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return existing;

  MLIRContext *ctx = module.getContext();
  Location loc = task.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  auto trampoline = LLVM::LLVMFuncOp::create(
      builder, loc, name,
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                  {ptr, i64, i64}),
      LLVM::Linkage::Internal);
  Block *entry = trampoline.addEntryBlock(builder);
  builder.setInsertionPointToStart(entry);

  SmallVector<Value> args = {entry->getArgument(1), entry->getArgument(2)};
  for (auto [i, field] : llvm::enumerate(context.getBody())) {
    Value address =
        LLVM::GEPOp::create(builder, loc, ptr, context, entry->getArgument(0),
                            ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
    Value value = LLVM::LoadOp::create(builder, loc, field, address);
    if (auto memref = dyn_cast<MemRefType>(originalTypes[i]))
      MemRefDescriptor::unpack(builder, loc, value, memref, args);
    else
      args.push_back(value);
  }
  LLVM::CallOp::create(builder, loc, task, args);
  LLVM::ReturnOp::create(builder, loc, ValueRange{});
  return trampoline;
}

struct ParallelForLowering : public ConvertOpToLLVMPattern<lrt::ParallelForOp> {
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;

  LogicalResult
  matchAndRewrite(lrt::ParallelForOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto module = op->getParentOfType<ModuleOp>();
    auto task = module.lookupSymbol<LLVM::LLVMFuncOp>(op.getTask());
    if (!task)
      return rewriter.notifyMatchFailure(
          op, "the task function is not an llvm.func yet");
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);

    SmallVector<Type> fields;
    for (Value arg : adaptor.getArgs())
      fields.push_back(arg.getType());
    auto context = LLVM::LLVMStructType::getLiteral(ctx, fields);

    // The context struct lives in the caller's entry block: one stack slot
    // per call site, allocated once.
    Value contextPtr;
    {
      OpBuilder::InsertionGuard guard(rewriter);
      Region *body = op->getParentRegion();
      while (!isa<FunctionOpInterface>(body->getParentOp()))
        body = body->getParentOp()->getParentRegion();
      rewriter.setInsertionPointToStart(&body->front());
      Value one = LLVM::ConstantOp::create(rewriter, loc, i64, 1);
      contextPtr = LLVM::AllocaOp::create(rewriter, loc, ptr, context, one, 16);
    }
    for (auto [i, arg] : llvm::enumerate(adaptor.getArgs())) {
      Value address = LLVM::GEPOp::create(
          rewriter, loc, ptr, context, contextPtr,
          ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
      LLVM::StoreOp::create(rewriter, loc, arg, address);
    }

    LLVM::LLVMFuncOp trampoline = getOrCreateTrampoline(
        rewriter, module, task, context, op.getArgs().getTypes());
    Value function = LLVM::AddressOfOp::create(rewriter, loc, trampoline);
    FailureOr<LLVM::LLVMFuncOp> runtime = LLVM::lookupOrCreateFn(
        rewriter, module, kParallelFor, {ptr, i64, ptr, ptr},
        LLVM::LLVMVoidType::get(ctx));
    if (failed(runtime))
      return failure();
    LLVM::CallOp::create(rewriter, loc, *runtime,
                         ValueRange{adaptor.getRuntime(), adaptor.getNumTasks(),
                                    function, contextPtr});
    rewriter.eraseOp(op);
    return success();
  }
};

struct ConvertRuntimeToLLVMPass
    : public llamac::impl::ConvertRuntimeToLLVMBase<ConvertRuntimeToLLVMPass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    LLVMTypeConverter converter(context);
    RewritePatternSet patterns(context);
    populateRuntimeToLLVMPatterns(converter, patterns);
    LLVMConversionTarget target(*context);
    target.addIllegalDialect<lrt::RuntimeDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void llamac::populateRuntimeToLLVMPatterns(LLVMTypeConverter &converter,
                                           RewritePatternSet &patterns) {
  patterns.add<ParallelForLowering>(converter);
}
