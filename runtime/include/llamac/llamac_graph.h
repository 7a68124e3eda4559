/*===- llamac_graph.h - A compiled ONNX graph as a C function ---*- C -*-===*\
|*                                                                          *|
|* Part of llamac, under the Apache License v2.0.                           *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/
/*
 * `llamac compile model.onnx --graph --emit lib -o libg.a` writes libg.a and
 * this header. The graph is one function of dense row-major tensors with the
 * static shapes it was compiled for:
 *
 *   void *buffers[] = {input0, input1, ..., output0, output1, ...};
 *   llamac_graph_run(buffers);
 *
 * Inputs are read, outputs written; every buffer holds its tensor's
 * elements contiguously (bool as one byte per element). llamac_graph_info
 * describes them, one line each after the first ("llamac-graph 1"):
 *
 *   input|output NAME ELEMENT_TYPE RANK DIM0 DIM1 ...
 *
 * where ELEMENT_TYPE is ONNX's TensorProto.DataType number (1 float,
 * 2 uint8, 3 int8, 4 uint16, 5 int16, 6 int32, 7 int64, 9 bool, 10 float16,
 * 11 double, 12 uint32, 13 uint64, 16 bfloat16). The function is reentrant:
 * each call allocates its own temporaries.
 */

#ifndef LLAMAC_GRAPH_H
#define LLAMAC_GRAPH_H

#ifdef __cplusplus
extern "C" {
#endif

void llamac_graph_run(void **buffers);
extern const char llamac_graph_info[];

#ifdef __cplusplus
}
#endif

#endif /* LLAMAC_GRAPH_H */
