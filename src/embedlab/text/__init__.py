"""Text area: preprocessing, vocabulary / tokenising, label encoding."""

from embedlab.text.labels import LabelEncoder
from embedlab.text.preprocess import PreprocessConfig, Preprocessor, english_stop_words
from embedlab.text.vocab import PAD, PAD_ID, UNK, UNK_ID, VocabConfig, Vocabulary

__all__ = [
    "PAD",
    "PAD_ID",
    "UNK",
    "UNK_ID",
    "LabelEncoder",
    "PreprocessConfig",
    "Preprocessor",
    "VocabConfig",
    "Vocabulary",
    "english_stop_words",
]
