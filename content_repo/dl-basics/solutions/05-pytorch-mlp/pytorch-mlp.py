# Reference solutions: each block replaces the exercise cell with that tag.

# %% exercise:autograd
x = torch.tensor(1.5, requires_grad=True)
f = x ** 3 + 2 * x
f.backward()
x.grad

# %% exercise:model
model = nn.Sequential(
    nn.Linear(64, 64),
    nn.ReLU(),
    nn.Linear(64, 10),
)
model
