# Reference solutions: each block replaces the exercise cell with that tag.

# %% exercise:train-one-epoch
def train_one_epoch(model, loader, optimizer, loss_fn):
    model.train()
    total_loss, count = 0.0, 0
    for X, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        count += len(y)
    return total_loss / max(count, 1)
