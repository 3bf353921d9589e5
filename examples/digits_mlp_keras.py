"""A 64-64-10 MLP on the 8x8 digits, written as in Keras 3: only the imports differ.

    python examples/digits_mlp_keras.py
"""

from __future__ import annotations

from _digits import load

import gradengine as ge
from gradengine.keras import callbacks, optimizers
from gradengine.keras.layers import Dense, Dropout, Input
from gradengine.keras.models import Sequential, load_model


def main(epochs=30, path="digits_mlp.keras"):
    ge.manual_seed(0)
    X_train, y_train, X_test, y_test, source = load()
    model = Sequential([
        Input(shape=(64,)),
        Dense(64, activation="relu"),
        Dropout(0.1),
        Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    model.fit(X_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1,
              callbacks=[callbacks.EarlyStopping(monitor="val_loss", patience=5,
                                                 restore_best_weights=True)], verbose=2)
    loss, acc = model.evaluate(X_test, y_test)
    print(f"data: {source}; test loss {loss:.4f}, test accuracy {acc:.4f}")
    model.save(path)
    again = load_model(path)
    print("reloaded model, same accuracy:", again.evaluate(X_test, y_test, verbose=0)[1])
    return acc


if __name__ == "__main__":
    main()
