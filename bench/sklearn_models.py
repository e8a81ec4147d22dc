"""Fits scikit-learn models on matrices exported by Sluice and prints JSON.

Used by test/unit/models/sklearn-accuracy.test.ts and bench/models.bench.ts
as the reference for Sluice's trainers. Imports only numpy and scikit-learn
(Debian's python3-sklearn); run it with /usr/bin/python3.

    /usr/bin/python3 bench/sklearn_models.py DIR

DIR holds meta.json and raw little-endian arrays:
  X_train.f64 (n_train x d, row-major float64), y_train.i32 (int32),
  X_test.f64, y_test.i32 (optional: n_test may be 0).
meta.json: {"n_train", "n_test", "d",
            "models": [{"name", "kind": "logistic"|"tree"|"forest"|"knn",
                        "params": {...scikit-learn keyword arguments...},
                        "repeat": 1, "proba": false}]}

Prints one JSON object: {"sklearn": version, "results": [{"name", "kind",
"fit_ms" (median over repeats), "fit_ms_all", "train_accuracy",
"test_accuracy", "proba_test" (when "proba": true: the test rows'
predict_proba, row-major), and for logistic "n_iter", "coef", "intercept"}]}. Exit status 3 (with
{"error": ...}) when scikit-learn cannot be imported.
"""
import json
import os
import sys
import time


def main() -> int:
    try:
        import numpy as np
        import sklearn
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.tree import DecisionTreeClassifier
    except Exception as e:  # the caller reports the reason and skips
        print(json.dumps({"error": "scikit-learn unavailable: %s" % type(e).__name__}))
        return 3

    folder = sys.argv[1]
    with open(os.path.join(folder, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    d = int(meta["d"])

    def load(name, dtype, n, cols):
        path = os.path.join(folder, name)
        if n == 0 or not os.path.exists(path):
            return np.zeros((0, cols) if cols else (0,), dtype=dtype)
        a = np.fromfile(path, dtype=dtype)
        return a.reshape((n, cols)) if cols else a

    n_train, n_test = int(meta["n_train"]), int(meta.get("n_test", 0))
    X_train = load("X_train.f64", "<f8", n_train, d)
    y_train = load("y_train.i32", "<i4", n_train, 0)
    X_test = load("X_test.f64", "<f8", n_test, d)
    y_test = load("y_test.i32", "<i4", n_test, 0)

    makers = {
        "logistic": LogisticRegression,
        "tree": DecisionTreeClassifier,
        "forest": RandomForestClassifier,
        "knn": KNeighborsClassifier,
    }
    results = []
    for spec in meta["models"]:
        kind = spec["kind"]
        params = dict(spec.get("params", {}))
        times = []
        model = None
        for _ in range(max(1, int(spec.get("repeat", 1)))):
            model = makers[kind](**params)
            t0 = time.perf_counter()
            model.fit(X_train, y_train)
            times.append((time.perf_counter() - t0) * 1000.0)
        out = {
            "name": spec.get("name", kind),
            "kind": kind,
            "fit_ms": float(np.median(times)),
            "fit_ms_all": times,
        }
        if spec.get("score", True):
            out["train_accuracy"] = float((model.predict(X_train) == y_train).mean()) if n_train else None
            out["test_accuracy"] = float((model.predict(X_test) == y_test).mean()) if n_test else None
        if spec.get("proba", False) and n_test:
            out["proba_test"] = model.predict_proba(X_test).ravel().tolist()
        if kind == "logistic":
            out["n_iter"] = int(np.max(model.n_iter_))
            out["coef"] = model.coef_.tolist()
            out["intercept"] = model.intercept_.tolist()
        results.append(out)
    print(json.dumps({"sklearn": sklearn.__version__, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
