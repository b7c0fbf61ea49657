"""``python -m analyzer.prepare``: export EfficientNet-Lite0 to ONNX once, then check that
every model loads from what is installed. Idempotent; safe to run on every ``make``."""

import time

from analyzer.models.registry import Models


def main() -> None:
    for model in Models().all():
        started = time.perf_counter()
        with model.use():
            pass
        print(f"{model.name}: ready in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
