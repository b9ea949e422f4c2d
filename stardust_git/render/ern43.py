"""ERN 4.3: a SoundRecording keeps its ISRC, P line and files in a SoundRecordingEdition."""

from __future__ import annotations

from lxml import etree

from stardust_git.render import ern4
from stardust_git.render.ern import MessageView, RecordingView, avs, duration, sub

AVS_VERSION = "3"
"""The AvsVersionId of the allowed-value sets the 4.3 XSD imports."""


def build(view: MessageView) -> etree._Element:
    return ern4.build(view, sound_recording, AvsVersionId=AVS_VERSION)


def sound_recording(parent: etree._Element, view: MessageView, recording: RecordingView) -> None:
    track = recording.track
    element = sub(parent, "SoundRecording")
    sub(element, "ResourceReference", recording.reference)
    sub(element, "Type", "MusicalWorkSoundRecording")
    edition(sub(element, "SoundRecordingEdition"), view, recording)
    ern4.recording_credits(element, view, recording)
    sub(element, "Duration", duration(track.duration))
    ern4.parental_warning(element, view, recording.parental_warning)
    sub(element, "LanguageOfPerformance", recording.language)


def edition(element: etree._Element, view: MessageView, recording: RecordingView) -> None:
    sub(sub(element, "ResourceId"), "ISRC", recording.track.isrc)
    ern4.p_line(element, view.release.p_line)
    details = sub(element, "TechnicalDetails")
    sub(details, "TechnicalResourceDetailsReference", recording.technical_reference)
    delivery_file(sub(details, "DeliveryFile"), view, recording)
    if recording.track.preview_start is not None:
        clip = sub(details, "ClipDetails")
        sub(clip, "TechnicalResourceDetailsReference", f"{recording.technical_reference}C")
        sub(clip, "ClipType", "Preview")
        sub(sub(clip, "Timing"), "StartPoint", str(recording.track.preview_start))
        sub(clip, "ExpressionType", "Instructive")


def delivery_file(element: etree._Element, view: MessageView, recording: RecordingView) -> None:
    audio = recording.audio
    sub(element, "Type", "AudioFile")
    avs(element, "AudioCodecType", "AudioCodecType", audio.codec, view.version, view.namespace)
    sub(element, "NumberOfChannels", str(audio.channels))
    sub(element, "SamplingRate", str(audio.sample_rate), UnitOfMeasure="Hz")
    if audio.bits_per_sample:
        sub(element, "BitsPerSample", str(audio.bits_per_sample))
    file = recording.file
    ern4.hashed_file(element, file.name, file.md5, file.size)
