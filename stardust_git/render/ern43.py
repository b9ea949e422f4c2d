"""ERN 4.3: a SoundRecording keeps its ISRC, P line and files in a SoundRecordingEdition."""

from __future__ import annotations

from stardust_git.render import ern4
from stardust_git.render.ern import MessageView, RecordingView, audio_format

AVS_VERSION = "3"
"""The AvsVersionId of the allowed-value sets the 4.3 XSD imports."""


def message(view: MessageView) -> str:
    return ern4.message(view, sound_recording, AvsVersionId=AVS_VERSION)


def sound_recording(view: MessageView, recording: RecordingView) -> str:
    return (
        "<SoundRecording>"
        f"<ResourceReference>{recording.reference}</ResourceReference>"
        "<Type>MusicalWorkSoundRecording</Type>"
        + edition(view, recording)
        + ern4.recording_credits(view, recording)
        + ern4.recording_tail(view, recording)
        + "</SoundRecording>"
    )


def edition(view: MessageView, recording: RecordingView) -> str:
    return (
        "<SoundRecordingEdition>"
        f"<ResourceId><ISRC>{recording.track.isrc}</ISRC></ResourceId>"
        + ern4.release_p_line(view)
        + "<TechnicalDetails>"
        f"<TechnicalResourceDetailsReference>{recording.technical_reference}"
        "</TechnicalResourceDetailsReference>"
        + delivery_file(view, recording)
        + clip(recording)
        + "</TechnicalDetails>"
        "</SoundRecordingEdition>"
    )


def delivery_file(view: MessageView, recording: RecordingView) -> str:
    file = recording.file
    return (
        "<DeliveryFile>"
        "<Type>AudioFile</Type>"
        + audio_format(recording.audio, view.version, view.namespace)
        + ern4.hashed_file(file.name, file.md5, file.size)
        + ern4.not_provided(view)
        + "</DeliveryFile>"
    )


def clip(recording: RecordingView) -> str:
    """Where the preview starts, when the catalog says."""
    start = recording.track.preview_start
    if start is None:
        return ""
    return (
        "<ClipDetails>"
        f"<TechnicalResourceDetailsReference>{recording.technical_reference}C"
        "</TechnicalResourceDetailsReference>"
        "<ClipType>Preview</ClipType>"
        f"<Timing><StartPoint>{start}</StartPoint></Timing>"
        "<ExpressionType>Instructive</ExpressionType>"
        "</ClipDetails>"
    )
