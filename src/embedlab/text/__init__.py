"""Text area: preprocessing, vocabulary / tokenising, label encoding."""

from embedlab.text.labels import LabelEncoder
from embedlab.text.preprocess import Preprocessor, PreprocessConfig, english_stop_words
from embedlab.text.vocab import PAD, PAD_ID, UNK, UNK_ID, VocabConfig, Vocabulary

__all__ = [
    "LabelEncoder", "Preprocessor", "PreprocessConfig", "english_stop_words",
    "PAD", "PAD_ID", "UNK", "UNK_ID", "VocabConfig", "Vocabulary",
]
