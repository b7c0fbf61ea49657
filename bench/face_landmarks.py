"""How well the faces' landmarks, pose and eyes hold up on faces with known answers.

Run: ``python bench/face_landmarks.py``. Turns scikit-image's astronaut by -30..30 degrees,
scales it 0.5..2x and mirrors it (analyzer/face_checks.py); prints, per variant, whether
the face was found, the roll error against the known turn, the landmarks' mean error against
the unturned photo's landmarks moved the same way (in inter-ocular distances), yaw, pitch,
EyesOpen and MouthOpen ratios.
"""

import statistics

from analyzer.face_checks import Variant, landmark_error, the_face
from analyzer.models.landmarks import EYE_OPEN_RATIO, MOUTH_OPEN_RATIO
from analyzer.models.registry import Models


def main() -> None:
    models = Models()
    reference = the_face(Variant(), models)
    assert reference is not None, "no face on the astronaut"
    base = reference.shape.pose(512, 512)
    assert base is not None
    variants = [Variant(degrees=d) for d in range(-30, 31, 5)]
    variants += [Variant(scale=s) for s in (0.5, 0.75, 1.5, 2.0)]
    variants += [Variant(mirrored=True), Variant(degrees=10, mirrored=True)]
    roll_errors, point_errors, found_count, eyes_open = [], [], 0, 0
    print(f"reference: roll {base.roll:+.1f}, yaw {base.yaw:+.1f}, pitch {base.pitch:+.1f}")
    print(f"{'variant':<28}{'face':>5}{'roll err':>10}{'points err':>11}{'yaw':>7}{'pitch':>7}{'eyes':>6}{'mouth':>7}")
    for variant in variants:
        found = the_face(variant, models)
        name = f"turn {variant.degrees:+.0f} scale {variant.scale:g}{' mirrored' if variant.mirrored else ''}"
        if found is None:
            print(f"{name:<28}{'no':>5}")
            continue
        found_count += 1
        side = round(512 * variant.scale)
        pose = found.shape.pose(side, side)
        assert pose is not None
        expected_roll = (-base.roll if variant.mirrored else base.roll) - variant.degrees
        roll_error = abs(pose.roll - expected_roll)
        roll_errors.append(roll_error)
        points = "" if variant.mirrored else f"{landmark_error(reference, variant, found):.3f}"
        if not variant.mirrored:
            point_errors.append(landmark_error(reference, variant, found))
        eyes_open += found.shape.eye_ratio() >= EYE_OPEN_RATIO
        print(
            f"{name:<28}{'yes':>5}{roll_error:>10.1f}{points:>11}{pose.yaw:>+7.1f}{pose.pitch:>+7.1f}"
            f"{found.shape.eye_ratio():>6.2f}{found.shape.mouth_ratio():>7.2f}"
        )
    print(
        f"found {found_count}/{len(variants)}; roll error mean {statistics.mean(roll_errors):.1f} deg, "
        f"max {max(roll_errors):.1f}; landmark error mean {statistics.mean(point_errors):.3f}, "
        f"max {max(point_errors):.3f} inter-ocular; EyesOpen true on {eyes_open}/{found_count} "
        f"(threshold {EYE_OPEN_RATIO}); MouthOpen threshold {MOUTH_OPEN_RATIO}"
    )


if __name__ == "__main__":
    main()
