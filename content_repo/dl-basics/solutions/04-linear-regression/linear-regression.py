# Reference solutions: each block replaces the exercise cell with that tag.

# %% exercise:gradients
def gradients(X, y, w, b):
    error = predict(X, w, b) - y
    return 2 * X.T @ error / len(y), 2 * error.mean()


gradients(X, y, w, b)

# %% exercise:lstsq
A = np.hstack([X, np.ones((len(X), 1))])
solution, *_ = np.linalg.lstsq(A, y, rcond=None)
solution
