"""ERN 4.2: a SoundRecording carries its ISRC, P line and TechnicalDetails directly."""

from __future__ import annotations

from stardust_git.render import ern4
from stardust_git.render.ern import MessageView, RecordingView, avs


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
    audio, file = recording.audio, recording.file
    bits = (
        f"<BitsPerSample>{audio.bits_per_sample}</BitsPerSample>" if audio.bits_per_sample else ""
    )
    return (
        "<TechnicalDetails>"
        f"<TechnicalResourceDetailsReference>{recording.technical_reference}"
        "</TechnicalResourceDetailsReference>"
        + avs("AudioCodecType", "AudioCodecType", audio.codec, view.version, view.namespace)
        + f"<NumberOfChannels>{audio.channels}</NumberOfChannels>"
        f'<SamplingRate UnitOfMeasure="Hz">{audio.sample_rate}</SamplingRate>'
        f"{bits}"
        + preview(recording)
        + ern4.hashed_file(file.name, file.md5, file.size)
        + "</TechnicalDetails>"
    )


def preview(recording: RecordingView) -> str:
    """The full file is not a preview; PreviewDetails say where the preview starts."""
    start = recording.track.preview_start
    if start is None:
        return ""
    return (
        "<IsPreview>false</IsPreview>"
        f"<PreviewDetails><StartPoint>{start}</StartPoint>"
        "<ExpressionType>Instructive</ExpressionType></PreviewDetails>"
    )
