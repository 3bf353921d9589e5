import warnings; warnings.simplefilter("error")
import numpy as np, gradengine as ge, gradengine.functional as F
x = ge.tensor([np.inf, 1.0, 2.0], requires_grad=True)
with ge.detect_anomaly():
    y = F.log(x)
    z = F.exp(y)
    try:
        z.sum().backward()
    except Exception as e: print(type(e).__name__, e)
x = ge.tensor([-1.0, 2.0, 3.0], requires_grad=True)
p = ge.tensor([2.0, 2.0, 2.0], requires_grad=True)
with ge.detect_anomaly():
    y = x ** p
    try:
        y.sum().backward()
    except Exception as e: print(type(e).__name__, e)
x = ge.tensor([-1.0, 2.0, 3.0], requires_grad=True)
with ge.detect_anomaly():
    try: y = F.log(x)
    except Exception as e: print(type(e).__name__, e)
print(x.grad, p.grad, ge.autograd._mode.anomaly)
