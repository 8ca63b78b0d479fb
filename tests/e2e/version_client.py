#!/usr/bin/env python3
"""Another service's start-up check, in Python: is the schema at the version I need?

Uses stubs generated from proto/schemad/v1/schemad.proto by grpc_python_plugin at build time.
Usage: version_client.py STUBS_DIR ADDRESS TARGET [TOKEN]
Prints `current_version pending_count latest_version` and exits 0, or prints the gRPC error
code name and exits 1.
"""
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from schemad.v1 import schemad_pb2, schemad_pb2_grpc  # noqa: E402


def main() -> int:
    address, target = sys.argv[2], sys.argv[3]
    metadata = [("authorization", "Bearer " + sys.argv[4])] if len(sys.argv) > 4 else []
    with grpc.insecure_channel(address) as channel:
        stub = schemad_pb2_grpc.SchemaServiceStub(channel)
        try:
            info = stub.GetVersion(schemad_pb2.GetVersionRequest(target=target),
                                   timeout=10, metadata=metadata)
        except grpc.RpcError as error:
            print(error.code().name)
            return 1
        print(info.current_version or "-", info.pending_count, info.latest_version)
        return 0


if __name__ == "__main__":
    sys.exit(main())
