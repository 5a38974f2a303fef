"""Real training backends' models: a LeNet-style CNN on scikit-learn's 8x8 digits."""

from hpo_mab.training.lenet import DigitsData, LeNet, load_digits_split, train_lenet

__all__ = ["DigitsData", "LeNet", "load_digits_split", "train_lenet"]
