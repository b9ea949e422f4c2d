"""ERN 4.2: a SoundRecording carries its ISRC, P line and TechnicalDetails directly."""

from __future__ import annotations

from stardust_git.render import ern4
from stardust_git.render.ern import MessageView, RecordingView, audio_format, preview_details


def message(view: MessageView) -> str:
    return ern4.message(view, sound_recording)


def sound_recording(view: MessageView, recording: RecordingView) -> str:
    return (
        "<SoundRecording>"
        f"<ResourceReference>{recording.reference}</ResourceReference>"
        "<Type>MusicalWorkSoundRecording</Type>"
        f"<ResourceId><ISRC>{recording.track.isrc}</ISRC></ResourceId>"
        + ern4.recording_credits(view, recording)
        + ern4.release_p_line(view)
        + ern4.recording_tail(view, recording)
        + technical_details(view, recording)
        + "</SoundRecording>"
    )


def technical_details(view: MessageView, recording: RecordingView) -> str:
    file = recording.file
    return (
        "<TechnicalDetails>"
        f"<TechnicalResourceDetailsReference>{recording.technical_reference}"
        "</TechnicalResourceDetailsReference>"
        + audio_format(recording.audio, view.version, view.namespace)
        + preview_details(recording)
        + ern4.hashed_file(file.name, file.md5, file.size)
        + ern4.not_provided(view)
        + "</TechnicalDetails>"
    )
