# Reference solutions: each block replaces the exercise cell with that tag.

# %% exercise:dataset
class DigitsDataset(Dataset):
    def __init__(self, images, labels, transform=None):
        self.images = images
        self.labels = labels
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        image = torch.tensor(self.images[index] / 16, dtype=torch.float32)
        if self.transform is not None:
            image = self.transform(image)
        return image, torch.tensor(self.labels[index], dtype=torch.int64)

# %% exercise:loaders
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=256)
