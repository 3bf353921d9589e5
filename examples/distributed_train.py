"""Data-parallel training on MPI: mpiexec -n 4 python examples/distributed_train.py,
or gradengine launch -n 4 examples/distributed_train.py (a plain python run is a world of 1)."""
import numpy as np

import gradengine as ge
import gradengine.distributed as dist
import gradengine.functional as F
from gradengine import nn, optim

dist.init()
ge.manual_seed(0)
model = dist.DataParallel(nn.Sequential(nn.Linear(784, 256), nn.ReLU(),
                                        nn.Linear(256, 10)))
opt = optim.SGD(model.parameters(), lr=0.1)
X = np.random.default_rng(0).normal(size=(4096, 784)).astype(np.float32)
y = np.random.default_rng(1).integers(0, 10, 4096)
sampler = dist.DistributedSampler(len(X), shuffle=True, seed=0)

@ge.jit
def step(xb, yb):
    opt.zero_grad()
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()             # gradients averaged across ranks here
    opt.step()
    return loss

for epoch in range(5):
    sampler.set_epoch(epoch)
    idx = sampler.indices()
    for s in range(0, len(idx), 128):
        loss = step(ge.tensor(X[idx[s:s + 128]]), ge.tensor(y[idx[s:s + 128]], dtype="int64"))
    mean = dist.all_reduce(ge.tensor(float(loss.item())), op="mean")
    if dist.rank() == 0:
        print(f"epoch {epoch}: loss {mean.item():.4f}")
        ge.save(model.state_dict(), "model.ge")   # loads into a world of any size
