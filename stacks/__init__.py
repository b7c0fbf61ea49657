"""The CDK app's stacks and constructs.

The constructs build each function's environment from the function's settings model (lambdas/image_pipeline/
*/settings.py, which import only pydantic), so lambdas/ is importable from here whichever way the app starts.
"""

import sys
from pathlib import Path

_LAMBDAS = str(Path(__file__).resolve().parents[1] / "lambdas")
if _LAMBDAS not in sys.path:
    sys.path.append(_LAMBDAS)
