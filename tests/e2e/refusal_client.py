#!/usr/bin/env python3
"""A deploy pipeline in Python: apply a target and, when refused, read why from the status
details (a schemad.v1.Refusal), not from the message text.

Uses stubs generated from proto/schemad/v1/schemad.proto by grpc_python_plugin at build time.
Usage: refusal_client.py STUBS_DIR ADDRESS TARGET TOKEN [EXPECTED_PLAN_HASH]
Prints `OK` and exits 0 when the apply ran; otherwise prints the status code name, the
refusal's reason, its versions (comma-separated, or -) and its facts as sorted name=value
pairs, and exits 1.
"""
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from schemad.v1 import schemad_pb2, schemad_pb2_grpc  # noqa: E402


def refusal_of(error: grpc.RpcError) -> schemad_pb2.Refusal:
    refusal = schemad_pb2.Refusal()
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            details = schemad_pb2.StatusDetails.FromString(value)
            for any_detail in details.details:
                if any_detail.Is(schemad_pb2.Refusal.DESCRIPTOR):
                    any_detail.Unpack(refusal)
    return refusal


def main() -> int:
    address, target, token = sys.argv[2], sys.argv[3], sys.argv[4]
    plan_hash = sys.argv[5] if len(sys.argv) > 5 else ""
    with grpc.insecure_channel(address) as channel:
        stub = schemad_pb2_grpc.SchemaServiceStub(channel)
        request = schemad_pb2.ApplyRequest(target=target, expected_plan_hash=plan_hash)
        try:
            for _ in stub.Apply(request, timeout=60,
                                metadata=[("authorization", "Bearer " + token)]):
                pass
        except grpc.RpcError as error:
            refusal = refusal_of(error)
            facts = " ".join(f"{k}={v}" for k, v in sorted(refusal.facts.items()))
            print(error.code().name, schemad_pb2.Refusal.Reason.Name(refusal.reason),
                  ",".join(refusal.versions) or "-", facts)
            return 1
        print("OK")
        return 0


if __name__ == "__main__":
    sys.exit(main())
