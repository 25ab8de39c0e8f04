"""scikit-learn doing the job of `nnbasics train --quiet` (the peer in benchmarks/whole_process.py).

digits, stratified 1258 / 269 / 270 split, features standardized on the training split,
one hidden layer of 256 relu units, softmax output, Adam 1e-3, batch 32, L2 1e-3,
at most 100 epochs with early stopping (patience 20) on the 269 held-out examples,
then loss and accuracy of each split.
"""

from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

X, y = load_digits(return_X_y=True)
X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=270, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_rest)  # train + valid: MLPClassifier holds valid out itself
X_rest, X_test = scaler.transform(X_rest), scaler.transform(X_test)
clf = MLPClassifier(
    (256,),
    solver="adam",
    learning_rate_init=1e-3,
    batch_size=32,
    alpha=1e-3,
    max_iter=100,
    early_stopping=True,
    validation_fraction=269 / len(X_rest),
    n_iter_no_change=20,
    tol=0.0,
    random_state=0,
).fit(X_rest, y_rest)
for name, (Xs, ys) in {"train+valid": (X_rest, y_rest), "test": (X_test, y_test)}.items():
    p = clf.predict_proba(Xs)
    print(f"{name:12s} loss {log_loss(ys, p):.4f} accuracy {accuracy_score(ys, p.argmax(1)):.2%}")
print(f"epochs {clf.n_iter_}")
