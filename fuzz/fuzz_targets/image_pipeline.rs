//! The image pipeline on arbitrary upload bytes: sniffing, the header checks, decoding,
//! orientation, cropping, resizing and re-encoding. Either a clean `ImageError` or images
//! that are what they claim to be; never a panic, a hang or an unbounded allocation.

#![no_main]

use libfuzzer_sys::fuzz_target;
use roost::media::pipeline::{
    AVATAR_SIZE, ImageError, ImageFormat, ImageLimits, OutputFormat, PREVIEW_MAX_SIDE,
    ProcessedImage, process_avatar, process_media, sniff,
};

/// Smaller than the server's limits so that each run stays fast; the checks are the same.
const LIMITS: ImageLimits = ImageLimits {
    max_bytes: 1024 * 1024,
    max_pixels: 4_000_000,
};

fn check_encoded(image: &ProcessedImage) {
    assert!(image.width > 0 && image.height > 0);
    let expected = match image.format {
        OutputFormat::Jpeg => ImageFormat::Jpeg,
        OutputFormat::Png => ImageFormat::Png,
    };
    assert_eq!(sniff(&image.bytes), Some(expected), "output is not what it says");
}

fuzz_target!(|bytes: &[u8]| {
    match process_media(bytes, &LIMITS) {
        Ok((full, preview)) => {
            check_encoded(&full);
            check_encoded(&preview);
            assert!(u64::from(full.width) * u64::from(full.height) <= LIMITS.max_pixels);
            assert!(preview.width.max(preview.height) <= PREVIEW_MAX_SIDE);
            assert!(preview.width <= full.width && preview.height <= full.height);
        }
        Err(ImageError::Encode(error)) => panic!("re-encoding decoded pixels failed: {error}"),
        Err(_) => {}
    }
    match process_avatar(bytes, &LIMITS) {
        Ok(avatar) => {
            check_encoded(&avatar);
            assert_eq!((avatar.width, avatar.height), (AVATAR_SIZE, AVATAR_SIZE));
        }
        Err(ImageError::Encode(error)) => panic!("re-encoding decoded pixels failed: {error}"),
        Err(_) => {}
    }
});
