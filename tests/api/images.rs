//! Test images built in code: plain, noisy (incompressible), with GPS metadata, and
//! decompression-bomb headers.

use std::io::Cursor;

/// A `width`×`height` image encoded as `format`.
pub fn image_bytes(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    encode(image::DynamicImage::ImageRgb8(image), format)
}

fn encode(image: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    image_bytes(width, height, image::ImageFormat::Png)
}

/// A PNG of noise, which does not compress: about `3 * side²` bytes.
pub fn noisy_png(side: u32) -> Vec<u8> {
    let noise = image::RgbImage::from_fn(side, side, |x, y| {
        // SplitMix64's finaliser: no pattern a PNG filter could exploit.
        let mut v = (u64::from(y) << 32 | u64::from(x)).wrapping_add(0x9E37_79B9_7F4A_7C15);
        v = (v ^ (v >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        v = (v ^ (v >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        v ^= v >> 31;
        let [a, b, c, ..] = v.to_le_bytes();
        image::Rgb([a, b, c])
    });
    encode(
        image::DynamicImage::ImageRgb8(noise),
        image::ImageFormat::Png,
    )
}

/// A JPEG carrying an Exif segment with GPS coordinates and a camera comment.
pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let jpeg = image_bytes(width, height, image::ImageFormat::Jpeg);
    let mut payload = b"Exif\0\0MM\0*\0\0\0\x08".to_vec();
    payload.extend_from_slice(b"GPSLatitude 51.5007N GPSLongitude 0.1246W SecretCamera");
    let length = (payload.len() + 2) as u16;
    let mut spliced = jpeg[..2].to_vec(); // SOI
    spliced.extend_from_slice(&[0xFF, 0xE1]);
    spliced.extend_from_slice(&length.to_be_bytes());
    spliced.extend_from_slice(&payload);
    spliced.extend_from_slice(&jpeg[2..]);
    spliced
}

/// A valid 1×1 PNG whose header claims `width`×`height` (a decompression bomb's shape).
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = png(1, 1);
    // IHDR data starts after the 8-byte signature, 4-byte length and 4-byte type.
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
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
