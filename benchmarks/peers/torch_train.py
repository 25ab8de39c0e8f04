"""PyTorch eager doing the job of `nnbasics train --quiet` (the peer in benchmarks/whole_process.py).

digits, stratified 1258 / 269 / 270 split, features standardized on the training split,
64-256-10 relu/softmax with Glorot-uniform weights and zero biases, Adam 1e-3, batch 32
reshuffled each epoch, loss = mean NLL + (1e-3/2)·Σ‖W‖², at most 100 epochs, early stopping
with patience 20 on the validation loss restoring the best parameters, then loss and
accuracy of each split.
"""

import copy

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

torch.manual_seed(0)
X, y = load_digits(return_X_y=True)
X_tr, X_held, y_tr, y_held = train_test_split(X, y, test_size=539, stratify=y, random_state=0)
X_va, X_te, y_va, y_te = train_test_split(
    X_held, y_held, test_size=270, stratify=y_held, random_state=0
)
mean, std = X_tr.mean(0), X_tr.std(0)
std[std == 0] = 1.0
splits = {
    name: (torch.tensor((Xs - mean) / std, dtype=torch.float32), torch.tensor(ys))
    for name, Xs, ys in (("train", X_tr, y_tr), ("valid", X_va, y_va), ("test", X_te, y_te))
}

model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
for layer in (model[0], model[2]):
    torch.nn.init.xavier_uniform_(layer.weight)
    torch.nn.init.zeros_(layer.bias)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
nll = torch.nn.CrossEntropyLoss()


def loss_of(X, y):
    penalty = sum((layer.weight**2).sum() for layer in (model[0], model[2]))
    return nll(model(X), y) + 0.5e-3 * penalty


X, y = splits["train"]
best, best_state, wait = float("inf"), None, 0
for epoch in range(100):  # noqa: B007 - printed after the loop
    for idx in torch.randperm(len(X)).split(32):
        opt.zero_grad()
        loss_of(X[idx], y[idx]).backward()
        opt.step()
    with torch.no_grad():
        v = nll(model(splits["valid"][0]), splits["valid"][1]).item()
    if v < best:
        best, best_state, wait = v, copy.deepcopy(model.state_dict()), 0
    else:
        wait += 1
        if wait >= 20:
            break
model.load_state_dict(best_state)
with torch.no_grad():
    for name, (Xs, ys) in splits.items():
        z = model(Xs)
        print(
            f"{name:6s} loss {nll(z, ys).item():.4f} "
            f"accuracy {(z.argmax(1) == ys).float().mean().item():.2%}"
        )
print(f"epochs {epoch + 1}")
