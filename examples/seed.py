"""The seed example, as written: a 2-3-1 sigmoid network learning XOR with SGD and MSE."""

import numpy as np

from gradengine.nn import Dense, Sequential

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
y = np.array([[0], [1], [1], [0]], dtype=np.float32)

model = Sequential()
model.add(Dense(3, input_dim=2, activation="sigmoid"))
model.add(Dense(1, activation="sigmoid"))
model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
results = model.fit(X, y, epochs=50)
print({k: round(v[-1], 4) for k, v in results.history.items()})
