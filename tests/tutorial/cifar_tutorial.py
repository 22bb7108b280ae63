"""Train a small CNN on CIFAR-10, in the style of the PyTorch "Training a Classifier" tutorial.

This file is PyTorch code.  tests/test_tutorial_port.py runs it on minitorch after changing only its import
lines (``torch`` -> ``minitorch``, ``torchvision`` -> ``minitorch.vision``), on a tiny CIFAR-10 written to a
temporary directory.  The environment variables below let the test keep the run small.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torchvision
import torchvision.transforms as transforms
from torch.utils.data import DataLoader, random_split

ROOT = os.environ.get("CIFAR_ROOT", "./data")
EPOCHS = int(os.environ.get("EPOCHS", "10"))
BATCH_SIZE = int(os.environ.get("BATCH_SIZE", "32"))
CHECKPOINT = os.environ.get("CHECKPOINT", "./cifar_net.pth")
WORKERS = int(os.environ.get("NUM_WORKERS", "2"))

torch.manual_seed(0)
device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")

transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
trainset = torchvision.datasets.CIFAR10(root=ROOT, train=True, download=True, transform=transform)
testset = torchvision.datasets.CIFAR10(root=ROOT, train=False, download=True, transform=transform)
trainset, valset = random_split(trainset, [0.9, 0.1])
trainloader = DataLoader(trainset, batch_size=BATCH_SIZE, shuffle=True, num_workers=WORKERS)
valloader = DataLoader(valset, batch_size=BATCH_SIZE, shuffle=False, num_workers=WORKERS)
testloader = torch.utils.data.DataLoader(testset, batch_size=BATCH_SIZE, shuffle=False, num_workers=WORKERS)
classes = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class Net(nn.Module):
    """LeNet-5 with batch normalisation and dropout."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.bn1 = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.bn3 = nn.BatchNorm1d(120)
        self.dropout = nn.Dropout(p=0.25)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = self.dropout(F.relu(self.bn3(self.fc1(x))))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def accuracy(net, loader):
    net.eval()
    correct = 0
    total = 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            outputs = net(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    return 100 * correct / total


net = Net().to(device)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
optimizer = optim.Adam(net.parameters(), lr=1e-3, weight_decay=5e-4)
scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)

for epoch in range(EPOCHS):
    net.train()
    running_loss = 0.0
    for data in trainloader:
        inputs, labels = data[0].to(device), data[1].to(device)
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), max_norm=2.0)
        optimizer.step()
        running_loss += loss.item()
    scheduler.step()
    print(f"[epoch {epoch + 1}] loss: {running_loss / len(trainloader):.4f}  "
          f"val accuracy: {accuracy(net, valloader):.1f} %  lr: {scheduler.get_last_lr()[0]:.6f}")

print("Finished Training")
before = accuracy(net, testloader)
torch.save(net.state_dict(), CHECKPOINT)

net = Net().to(device)
net.load_state_dict(torch.load(CHECKPOINT, weights_only=True))
after = accuracy(net, testloader)
print(f"Accuracy of the network on the {len(testset)} test images: {after:.1f} % (before saving: {before:.1f} %)")


def predictions(net, loader):
    """Every prediction and label of a loader, gathered with torch.cat."""
    net.eval()
    preds, targets = [], []
    with torch.no_grad():
        for images, labels in loader:
            preds.append(net(images.to(device)).argmax(dim=1))
            targets.append(labels)
    return torch.cat(preds), torch.cat(targets)


preds, targets = predictions(net, testloader)
agree = (preds == targets).float().mean().item()
print(f"argmax accuracy: {100 * agree:.1f} % over {preds.shape[0]} predictions of dtype {preds.dtype}")
