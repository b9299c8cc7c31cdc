# Reference solutions: each block replaces the exercise cell with that tag.

# %% exercise:separation
between = df.groupby("target").mean().std()
within = df.groupby("target").std().mean()
separation = (between / within).sort_values(ascending=False)
best = separation.index[0]
separation
