"""Types of the optional C pairing kernel (``_smartlpr_pairing.c``); see
``dissectors.smartlpr.pairing``, whose ``PairingPython`` has the identical API."""

from dissectors.smartlpr.pairing import PairingPython
from dissectors.smartlpr.runs import WholeLanePython

Pairing = PairingPython
Lane = WholeLanePython
