<?php
/**
 * What the WordPress tests (and .ci/wordpress) do to the site from the command line, through
 * WordPress's own functions (there is no WP-CLI in Debian):
 *
 *   php wp_tool.php <wordpress root> setup                 install the site, pretty permalinks, the plugin active
 *   php wp_tool.php <wordpress root> user <login> <role> <password> <email>   create or reset a user; prints its id
 *   php wp_tool.php <wordpress root> options '<json>'       set options (null deletes one)
 *   php wp_tool.php <wordpress root> option <name>          print one option as JSON
 *   php wp_tool.php <wordpress root> permalinks <structure> '' = plain links (?rest_route=)
 *   php wp_tool.php <wordpress root> privacy export|erase <email>   run the plugin's exporter / eraser
 *   php wp_tool.php <wordpress root> uninstall              run the plugin's uninstall.php
 *
 * HTTP_HOST must be set (Debian's wp-config picks the site's config file by host).
 */

if ( PHP_SAPI !== 'cli' ) {
	exit( 1 );
}
$root    = rtrim( $argv[1], '/' );
$command = $argv[2] ?? '';
if ( 'setup' === $command ) {
	define( 'WP_INSTALLING', true );
}
require $root . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

// No mail from the command line (the installer's "new site" email; there is no MTA in CI).
add_filter( 'pre_wp_mail', '__return_false' );

switch ( $command ) {
	case 'setup':
		if ( ! is_blog_installed() ) {
			wp_install( 'Comeback test store', 'admin', 'admin@example.com', true, '', wp_generate_password( 24 ) );
		}
		update_option( 'permalink_structure', '/%postname%/' );
		update_option( 'blogdescription', 'A WordPress for the Comeback plugin tests' );
		if ( 'twentytwentythree' !== get_option( 'stylesheet' ) && wp_get_theme( 'twentytwentythree' )->exists() ) {
			switch_theme( 'twentytwentythree' );
		}
		$result = activate_plugin( 'comeback/comeback.php' );
		if ( is_wp_error( $result ) ) {
			fwrite( STDERR, 'activating the plugin failed: ' . $result->get_error_message() . "\n" );
			exit( 1 );
		}
		flush_rewrite_rules( false );
		fwrite( STDERR, 'WordPress ' . get_bloginfo( 'version' ) . " installed, Comeback active\n" );
		break;

	case 'user':
		list( , , , $login, $role, $password, $email ) = $argv;
		$user = get_user_by( 'login', $login );
		if ( $user ) {
			wp_set_password( $password, $user->ID );
			wp_update_user( array( 'ID' => $user->ID, 'user_email' => $email, 'role' => $role ) );
			$id = $user->ID;
		} else {
			$id = wp_insert_user(
				array(
					'user_login' => $login,
					'user_pass'  => $password,
					'user_email' => $email,
					'role'       => $role,
				)
			);
			if ( is_wp_error( $id ) ) {
				fwrite( STDERR, $id->get_error_message() . "\n" );
				exit( 1 );
			}
		}
		echo (int) $id;
		break;

	case 'options':
		foreach ( json_decode( $argv[3], true ) as $name => $value ) {
			if ( null === $value ) {
				delete_option( $name );
			} else {
				update_option( $name, $value, false );
			}
		}
		break;

	case 'option':
		echo wp_json_encode( get_option( $argv[3], null ) );
		break;

	case 'privacy':
		// What Tools → Export / Erase Personal Data runs: the registered callback, page 1.
		$registered = 'export' === $argv[3]
			? apply_filters( 'wp_privacy_personal_data_exporters', array() )
			: apply_filters( 'wp_privacy_personal_data_erasers', array() );
		$result     = call_user_func( $registered['comeback']['callback'], $argv[4], 1 );
		if ( is_wp_error( $result ) ) {
			fwrite( STDERR, $result->get_error_code() . ': ' . $result->get_error_message() . "\n" );
			exit( 1 );
		}
		echo wp_json_encode( $result );
		break;

	case 'uninstall':
		// What deleting the plugin on the Plugins screen runs first (its files stay here).
		uninstall_plugin( 'comeback/comeback.php' );
		break;

	case 'permalinks':
		update_option( 'permalink_structure', $argv[3] );
		flush_rewrite_rules( false );
		break;

	default:
		fwrite( STDERR, "unknown command\n" );
		exit( 2 );
}
