# Reference solutions: each block replaces the exercise cell with that tag.

# %% exercise:conv2d
def conv2d_single(image, kernel):
    k_h, k_w = kernel.shape
    out = torch.zeros(image.shape[0] - k_h + 1, image.shape[1] - k_w + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (image[i:i + k_h, j:j + k_w] * kernel).sum()
    return out

# %% exercise:flat-features
features = nn.Sequential(
    nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
    nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 2 x 2
    nn.Flatten(),
)
flat_features = 32 * 2 * 2
