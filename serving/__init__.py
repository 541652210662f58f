"""The KServe server kit both servers use; it knows no features.

A ModelServer bound to a chosen address, REST and gRPC plumbing, the
lenient data plane, multiprocess metrics, error mapping and tensor
decoding. Every override of a KServe internal lives in
:mod:`serving.kserve_adapter`, with its upstream reason. Nothing here
imports ``transformer``, ``predictor`` or ``training``.
"""
