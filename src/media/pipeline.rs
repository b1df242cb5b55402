//! Turning untrusted upload bytes into safe images: format sniffing, size and pixel limits
//! (checked from the header before decoding), EXIF orientation, avatar cropping, previews,
//! and re-encoding from pixels so that no metadata survives.
//!
//! Everything here is synchronous and CPU-bound; callers run it in `spawn_blocking`.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::error::{AppError, FieldError};

/// The most pixels (width × height) an upload may have: 40 megapixels, as the contract says.
pub const MAX_PIXELS: u64 = 40_000_000;
/// The default upload size limit, 10 MiB (the server's configuration may change it).
pub const DEFAULT_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Avatars are square images of this many pixels a side.
pub const AVATAR_SIZE: u32 = 400;
/// Previews fit within this many pixels on their longest side.
pub const PREVIEW_MAX_SIDE: u32 = 400;
/// JPEG quality for re-encoded opaque images.
const JPEG_QUALITY: u8 = 85;
/// Scaling filter: close to Lanczos3 in quality, cheaper on large downscales.
const RESIZE_FILTER: FilterType = FilterType::CatmullRom;

/// An image format we accept, recognised from the bytes themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl ImageFormat {
    fn codec(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::Webp => image::ImageFormat::WebP,
            Self::Gif => image::ImageFormat::Gif,
        }
    }
}

/// Recognises the format from its magic bytes only; file names and declared content types are
/// client claims and never consulted.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(PNG) {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::Webp)
    } else {
        None
    }
}

/// How large an upload may be, in bytes and in decoded pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// The most bytes an encoded upload may have.
    pub max_bytes: usize,
    /// The most pixels (width × height) it may decode to.
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            max_pixels: MAX_PIXELS,
        }
    }
}

/// Why an upload could not be turned into an image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The bytes are not JPEG, PNG, WebP or GIF.
    #[error("the upload is not a JPEG, PNG, WebP or GIF image")]
    Unsupported,
    /// The encoded upload is over `ImageLimits::max_bytes`.
    #[error("the upload is over the size limit")]
    TooLarge,
    /// The header declares more pixels than `ImageLimits::max_pixels`.
    #[error("the image is {width}×{height} pixels, over the pixel limit")]
    TooManyPixels { width: u32, height: u32 },
    /// The bytes claim a supported format but do not decode (truncated, corrupt, …).
    #[error("the image could not be decoded: {0}")]
    Undecodable(String),
    /// Re-encoding our own decoded pixels failed: a bug or resource problem, not the client's.
    #[error("the image could not be re-encoded: {0}")]
    Encode(String),
}

impl From<ImageError> for AppError {
    fn from(error: ImageError) -> Self {
        match error {
            ImageError::Unsupported => Self::UnsupportedMediaType {
                detail: "The upload must be a JPEG, PNG, WebP or GIF image.".to_owned(),
            },
            ImageError::TooLarge => Self::PayloadTooLarge {
                detail: "The image is larger than the upload size limit.".to_owned(),
            },
            ImageError::TooManyPixels { width, height } => Self::Validation(vec![FieldError::new(
                "file",
                format!(
                    "is {width}×{height} pixels; images may have at most {} megapixels",
                    MAX_PIXELS / 1_000_000
                ),
            )]),
            ImageError::Undecodable(reason) => {
                tracing::debug!(%reason, "rejected an undecodable image");
                Self::validation("file", "is not a decodable image")
            }
            error @ ImageError::Encode(_) => Self::Internal(anyhow::Error::new(error)),
        }
    }
}

/// The format we re-encode to: PNG where transparency must survive, JPEG otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Jpeg,
    Png,
}

impl OutputFormat {
    /// The `Content-Type` to serve the image with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// The file extension used in storage keys.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }
}

/// A freshly encoded image, free of the upload's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessedImage {
    /// The encoded file, ready to store and serve.
    pub bytes: Vec<u8>,
    /// How `bytes` is encoded.
    pub format: OutputFormat,
    /// Width in pixels, after orientation was applied.
    pub width: u32,
    /// Height in pixels, after orientation was applied.
    pub height: u32,
}

/// Turns an upload into a square `AVATAR_SIZE`² avatar, cropped around its centre.
pub fn process_avatar(bytes: &[u8], limits: &ImageLimits) -> Result<ProcessedImage, ImageError> {
    let image = decode(bytes, limits)?;
    let (width, height) = (image.width(), image.height());
    let side = width.min(height);
    let square = image.crop_imm((width - side) / 2, (height - side) / 2, side, side);
    let avatar = square.resize_exact(AVATAR_SIZE, AVATAR_SIZE, RESIZE_FILTER);
    encode(&avatar)
}

/// Turns an upload into a full-size copy (upright, same dimensions) and a preview that fits
/// within `PREVIEW_MAX_SIDE` on its longest side (never enlarged).
pub fn process_media(
    bytes: &[u8],
    limits: &ImageLimits,
) -> Result<(ProcessedImage, ProcessedImage), ImageError> {
    let image = decode(bytes, limits)?;
    let (width, height) = preview_dimensions(image.width(), image.height());
    let full = encode(&image)?;
    let preview = if (width, height) == (full.width, full.height) {
        full.clone()
    } else {
        encode(&image.resize_exact(width, height, RESIZE_FILTER))?
    };
    Ok((full, preview))
}

/// The size of a preview of a `width`×`height` image: scaled down to fit
/// `PREVIEW_MAX_SIDE`, keeping the aspect ratio, never scaled up, never zero.
fn preview_dimensions(width: u32, height: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= PREVIEW_MAX_SIDE {
        return (width, height);
    }
    let scale = |side: u32| {
        let scaled = (u64::from(side) * u64::from(PREVIEW_MAX_SIDE) + u64::from(longest) / 2)
            / u64::from(longest);
        // `scaled` ≤ PREVIEW_MAX_SIDE, so the conversion cannot fail.
        u32::try_from(scaled).unwrap_or(PREVIEW_MAX_SIDE).max(1)
    };
    (scale(width), scale(height))
}

/// Sniffs, checks the limits, decodes and turns the image upright.
///
/// The pixel limit is checked on the dimensions the header declares, before any pixel buffer
/// is allocated, so a small file declaring a huge image (a decompression bomb) costs nothing.
fn decode(bytes: &[u8], limits: &ImageLimits) -> Result<DynamicImage, ImageError> {
    let format = sniff(bytes).ok_or(ImageError::Unsupported)?;
    if bytes.len() > limits.max_bytes {
        return Err(ImageError::TooLarge);
    }

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.codec());
    reader.limits(decoder_limits(limits));
    let mut decoder = reader.into_decoder().map_err(|error| undecodable(&error))?;

    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(ImageError::Undecodable(
            "the image has no pixels".to_owned(),
        ));
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooManyPixels { width, height });
    }

    // The JPEG decoder fills a missing tail with grey rather than failing; an upload cut
    // short is the client's problem to hear about, not an image to keep.
    if format == ImageFormat::Jpeg && !jpeg_has_end_marker(bytes) {
        return Err(ImageError::Undecodable(
            "the JPEG data is incomplete".to_owned(),
        ));
    }

    // Broken orientation metadata is not worth refusing an otherwise fine image for.
    let orientation = decoder.orientation().unwrap_or_else(|error| {
        tracing::debug!(%error, "ignoring unreadable EXIF orientation");
        Orientation::NoTransforms
    });
    // Only the first frame of an animation is read (GIF, WebP).
    let mut image = DynamicImage::from_decoder(decoder).map_err(|error| match error {
        image::ImageError::Limits(_) => ImageError::TooManyPixels { width, height },
        error => undecodable(&error),
    })?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// The decoders' own safety net, on top of our header check: allocations bounded by what the
/// largest allowed image can need (16-bit RGBA) plus room for working buffers. No strict
/// width/height limits: the header check right after construction is stronger, and a decoder
/// refusing at construction could not tell us the dimensions for a useful error.
fn decoder_limits(limits: &ImageLimits) -> image::Limits {
    const WORKING_ROOM: u64 = 64 * 1024 * 1024;
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(
        limits
            .max_pixels
            .saturating_mul(8)
            .saturating_add(WORKING_ROOM),
    );
    decoder_limits
}

/// Whether a JPEG's first scan is followed by an end-of-image marker, i.e. the file was not
/// cut short. Marker segments before the scan are skipped by their lengths (an Exif thumbnail
/// carries markers of its own); inside scan data a 0xFF byte is always stuffed or a restart
/// marker, so `FF D9` there is the real end. Data after the end marker (motion-photo videos
/// and other trailers) is allowed. Structures this walk does not understand are left to the
/// decoder to judge.
fn jpeg_has_end_marker(bytes: &[u8]) -> bool {
    let mut position = 2; // after SOI
    loop {
        let Some(&[0xFF, marker]) = bytes.get(position..position + 2) else {
            return true;
        };
        match marker {
            0xFF => position += 1, // fill byte
            0xDA => break,         // start of scan
            0x01 | 0xD0..=0xD7 => position += 2,
            _ => {
                let Some(&[high, low]) = bytes.get(position + 2..position + 4) else {
                    return true;
                };
                position += 2 + usize::from(u16::from_be_bytes([high, low]));
            }
        }
    }
    bytes[position..]
        .windows(2)
        .any(|window| window == [0xFF, 0xD9])
}

fn undecodable(error: &image::ImageError) -> ImageError {
    ImageError::Undecodable(error.to_string())
}

/// Encodes pixels afresh: PNG when the image has an alpha channel (transparency must
/// survive), JPEG otherwise. Nothing of the original file but its pixels is carried over, so
/// EXIF (GPS included), XMP, IPTC and comments are gone.
fn encode(image: &DynamicImage) -> Result<ProcessedImage, ImageError> {
    let mut bytes = Vec::new();
    let format = if image.color().has_alpha() {
        let pixels = match image {
            DynamicImage::ImageRgba8(_) | DynamicImage::ImageLumaA8(_) => image,
            _ => &DynamicImage::ImageRgba8(image.to_rgba8()),
        };
        pixels
            .write_with_encoder(PngEncoder::new(&mut bytes))
            .map_err(|error| ImageError::Encode(error.to_string()))?;
        OutputFormat::Png
    } else {
        let pixels = match image {
            DynamicImage::ImageRgb8(_) | DynamicImage::ImageLuma8(_) => image,
            _ => &DynamicImage::ImageRgb8(image.to_rgb8()),
        };
        pixels
            .write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY))
            .map_err(|error| ImageError::Encode(error.to_string()))?;
        OutputFormat::Jpeg
    };
    Ok(ProcessedImage {
        bytes,
        format,
        width: image.width(),
        height: image.height(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::gif::GifEncoder;
    use image::codecs::webp::WebPEncoder;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    const RED: Rgb<u8> = Rgb([255, 0, 0]);
    const BLUE: Rgb<u8> = Rgb([0, 0, 255]);

    /// A `width`×`height` image, red on its left half and blue on its right.
    fn two_tone(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, _| if x < width / 2 { RED } else { BLUE })
    }

    fn jpeg(image: &RgbImage) -> Vec<u8> {
        let mut bytes = Vec::new();
        image
            .write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, 95))
            .expect("encode test JPEG");
        bytes
    }

    fn png(image: &DynamicImage) -> Vec<u8> {
        let mut bytes = Vec::new();
        image
            .write_with_encoder(PngEncoder::new(&mut bytes))
            .expect("encode test PNG");
        bytes
    }

    fn translucent(width: u32, height: u32) -> RgbaImage {
        RgbaImage::from_pixel(width, height, Rgba([10, 200, 30, 128]))
    }

    /// A JPEG APP1 segment holding a big-endian Exif block with one IFD0 entry, Orientation,
    /// followed by `extra` bytes (stand-ins for GPS data and the like).
    fn exif_segment(orientation: u16, extra: &[u8]) -> Vec<u8> {
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // TIFF header, IFD0 at offset 8
        payload.extend_from_slice(&1u16.to_be_bytes()); // one entry
        payload.extend_from_slice(&0x0112u16.to_be_bytes()); // tag: Orientation
        payload.extend_from_slice(&3u16.to_be_bytes()); // type: SHORT
        payload.extend_from_slice(&1u32.to_be_bytes()); // count
        payload.extend_from_slice(&orientation.to_be_bytes());
        payload.extend_from_slice(&[0, 0]); // value padding
        payload.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
        payload.extend_from_slice(extra);
        let length = u16::try_from(payload.len() + 2).expect("small segment");
        let mut segment = vec![0xFF, 0xE1];
        segment.extend_from_slice(&length.to_be_bytes());
        segment.extend_from_slice(&payload);
        segment
    }

    /// `jpeg` with `segment` spliced in right after its SOI marker.
    fn with_segment(jpeg: &[u8], segment: &[u8]) -> Vec<u8> {
        let mut bytes = jpeg[..2].to_vec();
        bytes.extend_from_slice(segment);
        bytes.extend_from_slice(&jpeg[2..]);
        bytes
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window == needle)
    }

    /// CRC-32 (ISO-HDLC, as PNG uses), bit by bit: slow and short, fine for a test.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A valid PNG whose IHDR claims `width`×`height` (with a correct CRC) but whose data is
    /// that of a 1×1 image.
    fn png_declaring(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = png(&DynamicImage::ImageRgb8(RgbImage::new(1, 1)));
        // signature (8), IHDR length (4), "IHDR" (4), width (4), height (4), … 13 data bytes.
        assert_eq!(&bytes[12..16], b"IHDR");
        bytes[16..20].copy_from_slice(&width.to_be_bytes());
        bytes[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    #[test]
    fn crc32_matches_the_reference_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn sniffs_each_supported_format_from_its_bytes() {
        assert_eq!(sniff(&jpeg(&two_tone(4, 4))), Some(ImageFormat::Jpeg));
        assert_eq!(
            sniff(&png(&DynamicImage::ImageRgb8(two_tone(4, 4)))),
            Some(ImageFormat::Png)
        );
        assert_eq!(sniff(b"GIF89a\x01\x00\x01\x00"), Some(ImageFormat::Gif));
        assert_eq!(sniff(b"GIF87a\x01\x00\x01\x00"), Some(ImageFormat::Gif));
        assert_eq!(
            sniff(b"RIFF\x24\x00\x00\x00WEBPVP8L"),
            Some(ImageFormat::Webp)
        );
    }

    #[test]
    fn refuses_text_whatever_it_claims_to_be() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"hello, world"), None);
        assert_eq!(sniff(b"PNG image, honestly"), None);
        assert_eq!(sniff(b"avatar.png"), None);
        assert_eq!(sniff(b"RIFF\x24\x00\x00\x00WAVEfmt "), None);
        assert_eq!(sniff(b"RIFF"), None);
        assert!(matches!(
            process_media(b"PNG\r\n not really", &ImageLimits::default()),
            Err(ImageError::Unsupported)
        ));
    }

    #[test]
    fn truncated_images_are_undecodable() {
        let png = png(&DynamicImage::ImageRgb8(two_tone(64, 64)));
        let jpeg = jpeg(&two_tone(64, 64));
        for truncated in [&png[..png.len() / 2], &png[..40], &jpeg[..40]] {
            let result = process_media(truncated, &ImageLimits::default());
            assert!(
                matches!(result, Err(ImageError::Undecodable(_))),
                "got {result:?}"
            );
        }
    }

    #[test]
    fn jpegs_cut_short_in_their_scan_data_are_undecodable() {
        let noisy = RgbImage::from_fn(64, 64, |x, y| {
            Rgb([(x * 4) as u8, (y * 4) as u8, ((x * y) % 256) as u8])
        });
        let bytes = with_segment(&jpeg(&noisy), &exif_segment(1, b""));
        for cut in [bytes.len() / 2, bytes.len() - 2] {
            let result = process_media(&bytes[..cut], &ImageLimits::default());
            assert!(
                matches!(result, Err(ImageError::Undecodable(_))),
                "cut at {cut}: got {result:?}"
            );
        }
        // Trailing data after the end marker (as motion photos carry) is fine.
        let mut trailer = bytes.clone();
        trailer.extend_from_slice(b"\0\0\0\x18ftypmp42 trailing video");
        assert!(process_media(&trailer, &ImageLimits::default()).is_ok());
    }

    #[test]
    fn corrupt_image_data_is_undecodable() {
        let mut png = png(&DynamicImage::ImageRgb8(two_tone(64, 64)));
        let middle = png.len() / 2;
        png[middle..middle + 8].copy_from_slice(&[0xAB; 8]);
        assert!(matches!(
            process_avatar(&png, &ImageLimits::default()),
            Err(ImageError::Undecodable(_))
        ));
    }

    #[test]
    fn a_header_declaring_too_many_pixels_is_refused_before_decoding() {
        let bomb = png_declaring(100_000, 100_000);
        assert!(bomb.len() < 200);
        assert!(matches!(
            process_media(&bomb, &ImageLimits::default()),
            Err(ImageError::TooManyPixels {
                width: 100_000,
                height: 100_000
            })
        ));
        assert!(matches!(
            process_avatar(&bomb, &ImageLimits::default()),
            Err(ImageError::TooManyPixels { .. })
        ));
    }

    #[test]
    fn a_long_thin_image_over_the_pixel_limit_is_refused() {
        let bomb = png_declaring(1, 50_000_000);
        let result = process_media(&bomb, &ImageLimits::default());
        assert!(
            matches!(
                result,
                Err(ImageError::TooManyPixels {
                    width: 1,
                    height: 50_000_000
                })
            ),
            "got {result:?}"
        );
    }

    #[test]
    fn the_pixel_limit_counts_width_times_height() {
        let limits = ImageLimits {
            max_pixels: 99,
            ..ImageLimits::default()
        };
        let ten_by_ten = jpeg(&two_tone(10, 10));
        assert!(matches!(
            process_media(&ten_by_ten, &limits),
            Err(ImageError::TooManyPixels {
                width: 10,
                height: 10
            })
        ));
        let limits = ImageLimits {
            max_pixels: 100,
            ..limits
        };
        assert!(process_media(&ten_by_ten, &limits).is_ok());
    }

    #[test]
    fn oversized_uploads_are_too_large() {
        let bytes = jpeg(&two_tone(32, 32));
        let limits = ImageLimits {
            max_bytes: bytes.len() - 1,
            ..ImageLimits::default()
        };
        assert!(matches!(
            process_avatar(&bytes, &limits),
            Err(ImageError::TooLarge)
        ));
        let limits = ImageLimits {
            max_bytes: bytes.len(),
            ..limits
        };
        assert!(process_avatar(&bytes, &limits).is_ok());
    }

    #[test]
    fn exif_orientation_is_applied() {
        // Orientation 6: the camera was turned, the picture must be rotated 90° clockwise.
        let bytes = with_segment(&jpeg(&two_tone(20, 10)), &exif_segment(6, b""));
        let limits = ImageLimits::default();

        let (full, preview) = process_media(&bytes, &limits).expect("process media");
        assert_eq!((full.width, full.height), (10, 20));
        assert_eq!((preview.width, preview.height), (10, 20));
        // Red was on the left; after a clockwise quarter turn it is on top.
        let upright = image::load_from_memory(&full.bytes).expect("decode output");
        assert_eq!((upright.width(), upright.height()), (10, 20));
        let top = upright.to_rgb8().get_pixel(5, 2).0;
        let bottom = upright.to_rgb8().get_pixel(5, 17).0;
        assert!(top[0] > 200 && top[2] < 60, "top is {top:?}");
        assert!(bottom[2] > 200 && bottom[0] < 60, "bottom is {bottom:?}");

        let avatar = process_avatar(&bytes, &limits).expect("process avatar");
        assert_eq!((avatar.width, avatar.height), (AVATAR_SIZE, AVATAR_SIZE));
    }

    #[test]
    fn avatars_are_centre_cropped_squares() {
        // Blue | red | blue in thirds: the centre square of a 300×100 image is all red.
        let image = RgbImage::from_fn(
            300,
            100,
            |x, _| if (100..200).contains(&x) { RED } else { BLUE },
        );
        let avatar = process_avatar(&jpeg(&image), &ImageLimits::default()).expect("avatar");
        assert_eq!(avatar.format, OutputFormat::Jpeg);
        let decoded = image::load_from_memory(&avatar.bytes).expect("decode avatar");
        assert_eq!((decoded.width(), decoded.height()), (400, 400));
        for x in [5, 200, 394] {
            let pixel = decoded.to_rgb8().get_pixel(x, 200).0;
            assert!(pixel[0] > 200 && pixel[2] < 60, "pixel {x} is {pixel:?}");
        }
    }

    #[test]
    fn previews_fit_within_400_pixels_and_are_never_enlarged() {
        assert_eq!(preview_dimensions(1000, 500), (400, 200));
        assert_eq!(preview_dimensions(500, 1000), (200, 400));
        assert_eq!(preview_dimensions(100, 50), (100, 50));
        assert_eq!(preview_dimensions(400, 400), (400, 400));
        assert_eq!(preview_dimensions(401, 1), (400, 1));
        assert_eq!(preview_dimensions(1, 40_000), (1, 400));

        let limits = ImageLimits::default();
        let (full, preview) = process_media(&jpeg(&two_tone(1000, 500)), &limits).expect("1000");
        assert_eq!((full.width, full.height), (1000, 500));
        assert_eq!((preview.width, preview.height), (400, 200));
        let decoded = image::load_from_memory(&preview.bytes).expect("decode preview");
        assert_eq!((decoded.width(), decoded.height()), (400, 200));

        let (full, preview) = process_media(&jpeg(&two_tone(100, 50)), &limits).expect("100");
        assert_eq!((full.width, full.height), (100, 50));
        assert_eq!((preview.width, preview.height), (100, 50));
    }

    #[test]
    fn metadata_does_not_survive() {
        let secret = b"GPS 48.8584N 2.2945E; XMP creator=alice";
        let bytes = with_segment(&jpeg(&two_tone(64, 48)), &exif_segment(1, secret));
        assert!(contains(&bytes, b"Exif") && contains(&bytes, b"GPS"));

        let (full, preview) = process_media(&bytes, &ImageLimits::default()).expect("media");
        let avatar = process_avatar(&bytes, &ImageLimits::default()).expect("avatar");
        for output in [&full, &preview, &avatar] {
            assert_eq!(output.format, OutputFormat::Jpeg);
            assert!(sniff(&output.bytes) == Some(ImageFormat::Jpeg));
            assert!(!contains(&output.bytes, b"Exif"));
            assert!(!contains(&output.bytes, b"GPS"));
            assert!(!contains(&output.bytes, b"alice"));
        }
    }

    #[test]
    fn png_text_chunks_do_not_survive() {
        // A tEXt chunk spliced in before IEND.
        let mut bytes = png(&DynamicImage::ImageRgba8(translucent(8, 8)));
        let iend = bytes.len() - 12;
        let mut chunk = 15u32.to_be_bytes().to_vec();
        chunk.extend_from_slice(b"tEXtComment\0GPS");
        let crc = crc32(&chunk[4..]);
        chunk.extend_from_slice(&crc.to_be_bytes());
        bytes.splice(iend..iend, chunk);
        assert!(contains(&bytes, b"GPS"));

        let (full, _) = process_media(&bytes, &ImageLimits::default()).expect("media");
        assert_eq!(full.format, OutputFormat::Png);
        assert!(!contains(&full.bytes, b"GPS"));
        assert!(!contains(&full.bytes, b"tEXt"));
    }

    #[test]
    fn transparent_images_become_png_and_keep_their_alpha() {
        let bytes = png(&DynamicImage::ImageRgba8(translucent(30, 20)));
        let (full, preview) = process_media(&bytes, &ImageLimits::default()).expect("media");
        for output in [&full, &preview] {
            assert_eq!(output.format, OutputFormat::Png);
            assert_eq!(output.format.content_type(), "image/png");
            let decoded = image::load_from_memory(&output.bytes).expect("decode");
            assert_eq!(decoded.to_rgba8().get_pixel(10, 10).0[3], 128);
        }
        let avatar = process_avatar(&bytes, &ImageLimits::default()).expect("avatar");
        assert_eq!(avatar.format, OutputFormat::Png);
    }

    #[test]
    fn opaque_images_become_jpeg() {
        let bytes = png(&DynamicImage::ImageRgb8(two_tone(30, 20)));
        let (full, _) = process_media(&bytes, &ImageLimits::default()).expect("media");
        assert_eq!(full.format, OutputFormat::Jpeg);
        assert_eq!(full.format.content_type(), "image/jpeg");
        assert_eq!(full.format.extension(), "jpg");

        // 16-bit and grey sources are converted to something JPEG can hold.
        let deep = DynamicImage::ImageRgb16(DynamicImage::ImageRgb8(two_tone(8, 8)).to_rgb16());
        assert_eq!(
            process_media(&png(&deep), &ImageLimits::default())
                .expect("16-bit")
                .0
                .format,
            OutputFormat::Jpeg
        );
        let grey = DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(two_tone(8, 8)).to_luma8());
        assert!(process_media(&png(&grey), &ImageLimits::default()).is_ok());
    }

    #[test]
    fn webp_and_gif_are_accepted() {
        let mut webp = Vec::new();
        DynamicImage::ImageRgba8(translucent(12, 6))
            .write_with_encoder(WebPEncoder::new_lossless(&mut webp))
            .expect("encode WebP");
        assert_eq!(sniff(&webp), Some(ImageFormat::Webp));
        let (full, _) = process_media(&webp, &ImageLimits::default()).expect("WebP");
        assert_eq!(
            (full.width, full.height, full.format),
            (12, 6, OutputFormat::Png)
        );

        let mut gif = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut gif);
            for frame in [two_tone(12, 6), RgbImage::from_pixel(12, 6, BLUE)] {
                let frame = DynamicImage::ImageRgb8(frame).to_rgba8();
                encoder
                    .encode_frame(image::Frame::new(frame))
                    .expect("encode GIF frame");
            }
        }
        assert_eq!(sniff(&gif), Some(ImageFormat::Gif));
        let (full, preview) = process_media(&gif, &ImageLimits::default()).expect("GIF");
        assert_eq!((full.width, full.height), (12, 6));
        assert_eq!((preview.width, preview.height), (12, 6));
        // The first frame is the one kept.
        let decoded = image::load_from_memory(&full.bytes).expect("decode");
        let left = decoded.to_rgba8().get_pixel(1, 3).0;
        assert!(left[0] > 200 && left[2] < 60, "left is {left:?}");
    }

    #[test]
    fn errors_map_to_the_contract_statuses() {
        use axum::http::StatusCode;
        let status = |error: ImageError| AppError::from(error).status();
        assert_eq!(
            status(ImageError::Unsupported),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(status(ImageError::TooLarge), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            status(ImageError::Undecodable("x".into())),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status(ImageError::Encode("x".into())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        match AppError::from(ImageError::TooManyPixels {
            width: 10_000,
            height: 5_000,
        }) {
            AppError::Validation(errors) => {
                assert_eq!(errors[0].field, "file");
                assert!(errors[0].message.contains("40 megapixels"));
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        match AppError::from(ImageError::Undecodable("truncated".into())) {
            AppError::Validation(errors) => {
                assert_eq!(
                    errors,
                    vec![FieldError::new("file", "is not a decodable image")]
                );
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        match AppError::from(ImageError::Unsupported) {
            AppError::UnsupportedMediaType { detail } => {
                assert!(detail.contains("JPEG, PNG, WebP or GIF"));
            }
            other => panic!("expected 415, got {other:?}"),
        }
    }
}
